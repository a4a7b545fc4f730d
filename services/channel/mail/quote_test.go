package mail_test

import (
	"testing"

	"github.com/kubedesk/kubedesk/services/channel/mail"
)

func TestSplitQuoted(t *testing.T) {
	tests := []struct {
		name, visible, folded string
	}{
		{"no quote", "Just a message.\nTwo lines.\n", ""},
		{"empty", "", ""},
		{"gmail attribution and > lines",
			"Thanks, it works now.\n",
			"\nOn Mon, 1 Dec 2026 at 10:00, X <x@y> wrote:\n> Please restart it.\n>\n> Desk\n"},
		{"gmail attribution wrapped on two lines",
			"Thanks.\n",
			"\nOn Mon, 1 Dec 2026 at 10:00, Some Very Long Name\n<someone@example.com> wrote:\n> Please restart it.\n"},
		{"chinese attribution",
			"好的，谢谢！\n",
			"\n在 2026年12月1日 10:00，张三 <z@y> 写道：\n> 请重启打印机。\n"},
		{"chinese gmail attribution",
			"收到。\n",
			"\n张三 <z@y> 于2026年12月1日周一 10:00写道：\n> 请重启。\n"},
		{"bare > lines",
			"Yes.\n",
			"> Is it fixed?\n"},
		{"signature",
			"See you.\n",
			"-- \nAlice Smith\nACME Corp\n"},
		{"signature without trailing space",
			"See you.\n",
			"--\nAlice\n"},
		{"outlook original message",
			"Done, closing.\r\n",
			"\r\n-----Original Message-----\r\nFrom: Desk <help@desk.example>\r\nSent: Monday, December 1, 2026 10:00 AM\r\nTo: Alice\r\nSubject: Printer\r\n\r\nPlease check.\r\n"},
		{"outlook header block",
			"Works now.\n",
			"\n________________________________\nFrom: Help Desk <help@desk.example>\nSent: Monday, December 1, 2026 10:00\nTo: Alice <a@example.com>\nSubject: RE: Printer\n\nPlease check.\n"},
		{"chinese outlook header block",
			"已解决。\n",
			"\n发件人: 服务台 <help@desk.example>\n发送时间: 2026年12月1日 10:00\n收件人: 张三 <z@example.com>\n主题: 打印机\n\n请检查。\n"},
		{"foxmail original",
			"谢谢\n",
			"\n------------------ 原始邮件 ------------------\n发件人: \"服务台\"<help@desk.example>;\n发送时间: 2026年12月1日(星期二) 上午10:00\n收件人: \"张三\"<z@example.com>;\n主题: 打印机\n\n请检查。\n"},
		{"foxmail original with no-break spaces",
			"谢谢\n",
			"\n------------------\u00a0原始邮件\u00a0------------------\n发件人: x\n"},
		{"signature before quote",
			"Fixed.\n",
			"-- \nAlice\n\nOn Mon, 1 Dec 2026 at 10:00, X <x@y> wrote:\n> old\n"},
		{"inline answers stay visible",
			"On Mon, 1 Dec 2026 at 10:00, X <x@y> wrote:\n> Is it on?\nYes.\n> Is it plugged in?\nYes.\n",
			""},
		{"inline answers then trailing quote",
			"> Is it on?\nYes.\n",
			"> Anything else?\n> Bye\n"},
		{"only a quote keeps the whole text",
			"> just quoted\n> text\n",
			""},
		{"only a signature keeps the whole text",
			"-- \nAlice\n",
			""},
		{"forwarded message stays visible",
			"FYI\n\n---------- Forwarded message ---------\nFrom: Customer <c@example.org>\nDate: Mon, 1 Dec 2026 at 10:00\nSubject: Broken\nTo: <a@example.com>\n\nIt is broken.\n",
			""},
		{"a From: line in prose is not a header block",
			"From: my point of view it is broken.\nDate: unknown.\n",
			""},
		{"outlook From and Sent only",
			"OK.\n",
			"\nFrom: Help Desk\nSent: Monday, December 1, 2026 10:00\n\nPlease check.\n"},
		{"outlook for mac with Date",
			"OK.\n",
			"\nFrom: Help Desk <help@desk.example>\nDate: Monday, 1 December 2026 at 10:00\nTo: Alice <a@example.com>\nSubject: Re: Printer\n\nPlease check.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := tt.visible + tt.folded
			visible, folded := mail.SplitQuoted(text)
			if visible != tt.visible || folded != tt.folded {
				t.Errorf("SplitQuoted(%q)\n = %q, %q\nwant %q, %q", text, visible, folded, tt.visible, tt.folded)
			}
			if visible+folded != text {
				t.Errorf("visible+folded != text")
			}
		})
	}
}

func TestSubjectToken(t *testing.T) {
	tests := []struct {
		subject string
		want    int64
		ok      bool
	}{
		{"[#1042]", 1042, true},
		{"Re: 打印机坏了 [#1042]", 1042, true},
		{"RE: Fwd: [#7] printer", 7, true},
		{"[#abc]", 0, false},
		{"[# 12]", 0, false},
		{"[#12 ]", 0, false},
		{"[#1000000000001]", 0, false},
		{"[#1000000000000]", 1000000000000, true},
		{"[#99999999999999999999999]", 0, false},
		{"[#0]", 0, false},
		{"[#99999999999999] then [#5]", 5, true},
		{"#1042", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			n, ok := mail.SubjectToken(tt.subject)
			if n != tt.want || ok != tt.ok {
				t.Errorf("SubjectToken(%q) = %d, %v; want %d, %v", tt.subject, n, ok, tt.want, tt.ok)
			}
		})
	}
}
