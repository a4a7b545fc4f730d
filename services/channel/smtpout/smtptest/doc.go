// Package smtptest runs a real SMTP server on loopback that keeps what it
// receives, for the tests of packages that send mail (smtpout and whatever
// sends through it).
//
//	sink := smtptest.Start(t, smtptest.WithAuth("kubedesk", "secret"))
//	relay, _ := smtpout.ParseRelay("relay", sink.URL())
//	... send ...
//	got := sink.Wait(t, 1, 5*time.Second)
//
// It is emersion/go-smtp's server, so clients meet real replies, real
// STARTTLS (WithTLS, a self-signed certificate) and real AUTH PLAIN. FailNext,
// FailNextRcpt and FailRecipient make it refuse DATA or RCPT TO with a given
// code to test retries and bounces.
package smtptest
