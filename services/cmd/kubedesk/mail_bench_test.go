package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/smtp"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/kubedesk/kubedesk/services/channel/smtpout/smtptest"
)

// mailConns is how many SMTP connections deliver at once in BenchmarkMailIn.
const mailConns = 8

// BenchmarkMailIn delivers b.N mails of about 20 KB (a third in GB2312
// with Chinese subjects, a tenth with a 1 MB attachment) over 8 SMTP
// connections to the all-in-one binary, on SQLite and on PostgreSQL, with
// a relay (a local sink) taking the acknowledgements. It reports mails/s,
// p50/p99 from the end of DATA to the 250 reply, and the server's peak
// RSS during the run. Every mail opens a ticket (distinct Message-IDs,
// 200 senders).
//
//	go test -run '^$' -bench MailIn -benchtime 1000x ./services/cmd/kubedesk
func BenchmarkMailIn(b *testing.B) {
	bin := kubedeskBinary(b)
	mails := benchMails(1000)
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			sink := smtptest.Start(b)
			addr := freeAddr(b)
			// KUBEDESK_BENCH_SERVE_ARGS adds flags, e.g.
			// --pprof-addr=127.0.0.1:6060 to profile the server.
			args := append([]string{"--smtp-addr=" + addr, "--smtp-relay=" + sink.URL(), writeBenchConfig(b, b.TempDir(), benchLimits+mailBenchSenders)},
				strings.Fields(os.Getenv("KUBEDESK_BENCH_SERVE_ARGS"))...)
			if engine == "postgres" {
				args = append(args, "--database-url="+pg.NewDatabase(b))
			}
			p := startBinary(b, bin, b.TempDir(), args...)
			defer p.stop(b)

			var peak atomic.Int64
			done := make(chan struct{})
			go func() {
				t := time.NewTicker(100 * time.Millisecond)
				defer t.Stop()
				for {
					if rss := p.rss(b); rss > peak.Load() {
						peak.Store(rss)
					}
					select {
					case <-done:
						return
					case <-t.C:
					}
				}
			}()
			conns := make(chan *smtp.Client, mailConns)
			for range mailConns {
				c, err := smtp.Dial(addr)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Hello("bench.example"); err != nil {
					b.Fatal(err)
				}
				conns <- c
			}
			var lat, plain, attached latencies
			runWorkers(b, mailConns, "mails/s", func(i int64) error {
				c := <-conns
				defer func() { conns <- c }()
				m := mails[int(i-1)%len(mails)]
				if err := c.Mail(m.from); err != nil {
					return err
				}
				if err := c.Rcpt("support@default.localhost"); err != nil {
					return err
				}
				w, err := c.Data()
				if err != nil {
					return err
				}
				if _, err := w.Write(bytes.ReplaceAll(m.data, []byte("@BENCH@"), fmt.Appendf(nil, "%d.%d", i, time.Now().UnixNano()))); err != nil {
					return err
				}
				t0 := time.Now()
				if err := w.Close(); err != nil { // the final dot, and the 250
					return err
				}
				d := time.Since(t0)
				lat.add(d)
				if m.attached {
					attached.add(d)
				} else {
					plain.add(d)
				}
				return nil
			})
			close(done)
			// runWorkers timed whole SMTP exchanges; these are DATA end to 250.
			slices.Sort(lat.d)
			if len(lat.d) > 0 {
				b.ReportMetric(float64(lat.d[len(lat.d)*99/100].Microseconds())/1000, "p99-data-to-250-ms")
				b.ReportMetric(float64(lat.d[len(lat.d)/2].Microseconds())/1000, "p50-data-to-250-ms")
			}
			// The mails with a 1 MB attachment make the p99: each kind's
			// own p99 says how far each is from the target.
			for _, k := range []struct {
				name string
				l    *latencies
			}{{"p99-plain-ms", &plain}, {"p99-attached-ms", &attached}} {
				if slices.Sort(k.l.d); len(k.l.d) > 0 {
					b.ReportMetric(float64(k.l.d[len(k.l.d)*99/100].Microseconds())/1000, k.name)
				}
			}
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-RSS-MiB")
			for range mailConns {
				c := <-conns
				_ = c.Quit()
			}
		})
	}
}

// mailBenchSenders lifts the per-sender cap and the per-IP message rate
// (all the benchmark's mail comes from one address) so that no mail is
// told to retry.
const mailBenchSenders = `  channel:
    smtp: {perIP: {messages: {perSecond: 0}}}
    email: {perSender: {perSecond: 1000, burst: 1000}}
`

type benchMail struct {
	from     string
	data     []byte
	attached bool // holds a 1 MB attachment
}

// benchMails builds n test mails of about 20 KB: every third in GB2312
// with a Chinese subject, every tenth with a 1 MB attachment.
func benchMails(n int) []benchMail {
	rng := rand.New(rand.NewPCG(1, 2))
	gb := simplifiedchinese.GBK.NewEncoder()
	para := strings.Repeat("The printer on the third floor drops off the network every morning; finance needs it today. ", 4)
	zhPara := strings.Repeat("三楼的打印机每天早上都会掉线，财务部今天急需使用，请尽快处理。", 6)
	out := make([]benchMail, n)
	for i := range out {
		from := fmt.Sprintf("user%03d@customer%02d.example", rng.IntN(200), rng.IntN(20))
		var body strings.Builder
		var h strings.Builder
		fmt.Fprintf(&h, "From: Customer %d <%s>\r\nTo: support@default.localhost\r\nMessage-ID: <bench-@BENCH@@bench.example>\r\nDate: %s\r\nMIME-Version: 1.0\r\n",
			i, from, time.Now().Format(time.RFC1123Z))
		chinese := i%3 == 0
		text := para
		if chinese {
			text = zhPara
		}
		for body.Len() < 19<<10 {
			body.WriteString(text)
			body.WriteString("\r\n")
		}
		content := body.String()
		if chinese {
			subj, _ := gb.String("打印机无法连接 第" + fmt.Sprint(i) + "号")
			fmt.Fprintf(&h, "Subject: =?GB2312?B?%s?=\r\n", base64.StdEncoding.EncodeToString([]byte(subj)))
			content, _ = gb.String(content)
		} else {
			fmt.Fprintf(&h, "Subject: Printer offline #%d\r\n", i)
		}
		charset := map[bool]string{true: "GB2312", false: "utf-8"}[chinese]
		if i%10 == 0 {
			att := make([]byte, 1<<20)
			for j := range att {
				att[j] = byte(rng.IntN(256))
			}
			fmt.Fprintf(&h, "Content-Type: multipart/mixed; boundary=BOUNDARY\r\n\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n--BOUNDARY\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"log-%d.bin\"\r\n\r\n",
				charset, content, i)
			enc := base64.StdEncoding.EncodeToString(att)
			for len(enc) > 76 {
				h.WriteString(enc[:76] + "\r\n")
				enc = enc[76:]
			}
			h.WriteString(enc + "\r\n--BOUNDARY--\r\n")
		} else {
			fmt.Fprintf(&h, "Content-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s", charset, content)
		}
		out[i] = benchMail{from: from, data: []byte(h.String()), attached: i%10 == 0}
	}
	return out
}
