package mail_test

import (
	"fmt"
	"strings"

	"github.com/kubedesk/kubedesk/services/channel/mail"
)

func ExampleParse() {
	raw := "From: =?UTF-8?B?5byg5LiJ?= <zhang@Example.COM>\r\n" +
		"Subject: =?GBK?B?UmU6ILTy06G7+ru1wcs=?= [#1042]\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"已经好了，谢谢。\r\n" +
		"\r\n" +
		"在 2026年12月1日 10:00，服务台 <help@desk.example> 写道：\r\n" +
		"> 请重启打印机。\r\n"
	m, err := mail.Parse(strings.NewReader(raw), mail.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	n, ok := mail.SubjectToken(m.Subject)
	fmt.Println(m.From.Name, m.From.Email)
	fmt.Println(m.Subject, n, ok)
	fmt.Printf("%q\n", m.Visible)
	fmt.Println(m.Kind)
	// Output:
	// 张三 zhang@example.com
	// Re: 打印机坏了 [#1042] 1042 true
	// "已经好了，谢谢。\n"
	// normal
}
