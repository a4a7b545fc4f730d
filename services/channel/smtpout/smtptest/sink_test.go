package smtptest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
)

func send(addr string, rcpts []string, body string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer func() { _ = c.Close() }()
	return c.SendMail("from@example.com", rcpts, strings.NewReader(body))
}

func TestSinkReceivesAndFails(t *testing.T) {
	s := Start(t)
	if want := fmt.Sprintf("smtp://%s?tls=none", s.Addr()); s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	if err := send(s.Addr(), []string{"a@example.com", "b@example.com"}, "Subject: one\r\n\r\nbody\r\n"); err != nil {
		t.Fatalf("send: %v", err)
	}

	s.FailNext(1, 451, "later")
	err := send(s.Addr(), []string{"a@example.com"}, "Subject: two\r\n\r\nbody\r\n")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || se.Message != "later" {
		t.Errorf("send after FailNext: %v, want 451 later", err)
	}

	s.FailNextRcpt(1, 550, "no such user")
	err = send(s.Addr(), []string{"a@example.com"}, "Subject: three\r\n\r\nbody\r\n")
	if !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("send after FailNextRcpt: %v, want 550", err)
	}

	s.FailRecipient("B@example.com", 550)
	err = send(s.Addr(), []string{"b@example.com"}, "Subject: four\r\n\r\nbody\r\n")
	if !errors.As(err, &se) || se.Code != 550 || se.Message != "recipient <b@example.com> refused by smtptest" {
		t.Errorf("send to a failed recipient: %v, want 550", err)
	}

	if err := send(s.Addr(), []string{"a@example.com"}, "Subject: five\r\n\r\nbody\r\n"); err != nil {
		t.Fatalf("send after the failures: %v", err)
	}
	got := s.Wait(t, 2, 5*time.Second)
	want := []Received{
		{From: "from@example.com", To: []string{"a@example.com", "b@example.com"}, Data: []byte("Subject: one\r\n\r\nbody\r\n")},
		{From: "from@example.com", To: []string{"a@example.com"}, Data: []byte("Subject: five\r\n\r\nbody\r\n")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, s.Messages()); diff != "" {
		t.Errorf("Messages() (-want +got):\n%s", diff)
	}
}

func TestSinkURL(t *testing.T) {
	tests := []struct {
		opts []Option
		want string
	}{
		{[]Option{WithAuth("u", "p w")}, "smtp://u:p%%20w@%s?tls=none"},
		{[]Option{WithTLS()}, "smtp://%s?tls=starttls&insecure_skip_verify=true"},
		{[]Option{WithImplicitTLS(), WithAuth("u", "p")}, "smtps://u:p@%s?insecure_skip_verify=true"},
	}
	for _, tt := range tests {
		s := Start(t, tt.opts...)
		if want := fmt.Sprintf(tt.want, s.Addr()); s.URL() != want {
			t.Errorf("URL() = %q, want %q", s.URL(), want)
		}
	}
}

func TestSinkRequiresAuth(t *testing.T) {
	s := Start(t, WithAuth("u", "p"))
	err := send(s.Addr(), []string{"a@example.com"}, "x\r\n")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 502 {
		t.Errorf("send without AUTH: %v, want 502", err)
	}
}

func TestSinkWaitReturnsEarlyArrivals(t *testing.T) {
	s := Start(t)
	errc := make(chan error, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		errc <- send(s.Addr(), []string{"a@example.com"}, "x\r\n")
	}()
	if got := s.Wait(t, 1, 5*time.Second); len(got) != 1 {
		t.Errorf("Wait returned %d messages, want 1", len(got))
	}
	if err := <-errc; err != nil {
		t.Errorf("send: %v", err)
	}
}
