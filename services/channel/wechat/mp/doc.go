// Package mp speaks the WeChat Official Account platform's (公众平台, mp.weixin.qq.com)
// protocol: the signatures of a callback URL's verification and of its
// messages, the AES-256-CBC envelope of safe mode (安全模式), and the XML
// of the messages and events WeChat posts, which do no I/O; and Client,
// which calls WeChat's API (access token, customer-service messages,
// media). The channel (package wechat) is built on it.
//
// Everything here takes untrusted input. Bodies are size-limited before
// they are read, XML with a DOCTYPE, entity or processing instruction is
// refused, decryption checks the padding, the length prefix and the AppID
// before it returns anything, and every parser has a fuzz target.
//
// Written here rather than taken from silenceper/wechat/v2: the callback
// side is a few hundred lines, that library brings a cache layer, a
// logger and every WeChat product's API with it, and its parser accepts
// what this one must refuse (DOCTYPEs, unbounded bodies).
package mp
