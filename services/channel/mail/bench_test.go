package mail_test

import (
	"strings"
	"testing"

	"github.com/kubedesk/kubedesk/services/channel/mail"
)

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"alternative.eml", "mixed.eml", "qqmail-gbk.eml"} {
		raw := crlf(readTestdata(b, name))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := mail.Parse(strings.NewReader(raw), mail.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
