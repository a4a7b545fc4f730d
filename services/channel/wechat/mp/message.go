package mp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxBody is the largest callback body read: WeChat's messages are a few
// KB (a text message holds at most 2,048 bytes of content).
const MaxBody = 64 << 10

// maxDepth bounds the nesting of a callback's XML; WeChat's is two deep.
const maxDepth = 8

// ErrMalformed is a callback body that is not a WeChat message: too
// large, not XML, XML with a DOCTYPE, entity or processing instruction,
// or nested too deep.
var ErrMalformed = errors.New("wechat: malformed message")

// Type is a message's MsgType.
type Type string

// The message types WeChat posts.
const (
	TypeText       Type = "text"
	TypeImage      Type = "image"
	TypeVoice      Type = "voice"
	TypeVideo      Type = "video"
	TypeShortVideo Type = "shortvideo"
	TypeLocation   Type = "location"
	TypeLink       Type = "link"
	TypeEvent      Type = "event"
)

// Event is an event message's Event.
type Event string

// The events a help desk acts on; others are parsed and kept as they
// come.
const (
	EventSubscribe   Event = "subscribe"
	EventUnsubscribe Event = "unsubscribe"
	EventScan        Event = "SCAN"
	EventClick       Event = "CLICK"
	EventView        Event = "VIEW"
	EventLocation    Event = "LOCATION"
)

// Message is a message or event WeChat posts to the callback URL. Which
// fields are set depends on Type.
type Message struct {
	ToUserName   string `xml:"ToUserName"`   // the account's original ID (gh_...)
	FromUserName string `xml:"FromUserName"` // the sender's openid
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      Type   `xml:"MsgType"`
	MsgID        int64  `xml:"MsgId"`

	Content      string `xml:"Content"`      // text
	PicURL       string `xml:"PicUrl"`       // image
	MediaID      string `xml:"MediaId"`      // image, voice, video, shortvideo
	Format       string `xml:"Format"`       // voice: amr, speex
	Recognition  string `xml:"Recognition"`  // voice, when speech recognition is on
	ThumbMediaID string `xml:"ThumbMediaId"` // video, shortvideo
	LocationX    string `xml:"Location_X"`   // location: latitude
	LocationY    string `xml:"Location_Y"`   // location: longitude
	Scale        string `xml:"Scale"`        // location
	Label        string `xml:"Label"`        // location: the place's name
	Title        string `xml:"Title"`        // link
	Description  string `xml:"Description"`  // link
	URL          string `xml:"Url"`          // link

	Event     Event  `xml:"Event"`
	EventKey  string `xml:"EventKey"`  // CLICK, VIEW, SCAN, subscribe by QR code (qrscene_...)
	Ticket    string `xml:"Ticket"`    // SCAN, subscribe by QR code
	Latitude  string `xml:"Latitude"`  // LOCATION event
	Longitude string `xml:"Longitude"` // LOCATION event
	Precision string `xml:"Precision"` // LOCATION event

	// Encrypt is the safe-mode envelope's message, before decryption.
	Encrypt string `xml:"Encrypt"`
}

// Time is when WeChat received the message.
func (m *Message) Time() time.Time { return time.Unix(m.CreateTime, 0) }

// DedupKey identifies the message across WeChat's retries: its MsgId, or
// for an event (which has none) the sender, time and event.
func (m *Message) DedupKey() string {
	if m.MsgID != 0 {
		return "msg:" + strconv.FormatInt(m.MsgID, 10)
	}
	return "event:" + m.FromUserName + ":" + strconv.FormatInt(m.CreateTime, 10) + ":" + string(m.Event)
}

// Parse reads a callback body: at most MaxBody bytes of XML without
// DOCTYPE, entities or processing instructions, with a root element
// whose children are the message's fields. It checks that a message has
// a sender and a type; an envelope holding only Encrypt is returned as
// it is, for Decrypt and a second Parse.
func Parse(r io.Reader) (*Message, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("%w: body larger than %d bytes", ErrMalformed, MaxBody)
	}
	return ParseBytes(body)
}

// ParseBytes is Parse of a body already read.
func ParseBytes(body []byte) (*Message, error) {
	if len(body) > MaxBody {
		return nil, fmt.Errorf("%w: body larger than %d bytes", ErrMalformed, MaxBody)
	}
	if err := plainXML(body); err != nil {
		return nil, err
	}
	var m Message
	if err := xml.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if m.Encrypt != "" && m.MsgType == "" {
		return &m, nil // the safe-mode envelope
	}
	switch {
	case m.FromUserName == "":
		return nil, fmt.Errorf("%w: FromUserName: empty; accepted: the sender's openid", ErrMalformed)
	case m.MsgType == "":
		return nil, fmt.Errorf("%w: MsgType: empty; accepted: text, image, voice, video, shortvideo, location, link, event", ErrMalformed)
	case m.MsgType == TypeEvent && m.Event == "":
		return nil, fmt.Errorf("%w: Event: empty in an event message", ErrMalformed)
	}
	for _, f := range []*string{&m.FromUserName, &m.ToUserName, &m.Content, &m.Title, &m.Description, &m.Label, &m.Recognition} {
		*f = strings.ToValidUTF8(*f, "\uFFFD")
	}
	if len(m.FromUserName) > 128 || !utf8.ValidString(m.FromUserName) || strings.ContainsAny(m.FromUserName, " \t\r\n") {
		return nil, fmt.Errorf("%w: FromUserName: not an openid", ErrMalformed)
	}
	return &m, nil
}

// plainXML refuses what Unmarshal would take but a WeChat message never
// holds: a DOCTYPE (and the entities it could declare), processing
// instructions other than the XML declaration, and deep nesting.
func plainXML(body []byte) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	depth := 0
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return fmt.Errorf("%w: a DOCTYPE or other directive; accepted: plain XML without entities", ErrMalformed)
		case xml.ProcInst:
			if t.Target != "xml" {
				return fmt.Errorf("%w: processing instruction %q", ErrMalformed, t.Target)
			}
		case xml.StartElement:
			if depth++; depth > maxDepth {
				return fmt.Errorf("%w: nested deeper than %d", ErrMalformed, maxDepth)
			}
		case xml.EndElement:
			depth--
		}
	}
}

// Reply is a passive reply's XML: a text message back to the sender, the
// one kind a help desk sends inside the 5 s of a callback.
func Reply(to, from, content string, at time.Time) []byte {
	var b bytes.Buffer
	b.WriteString("<xml><ToUserName>")
	cdata(&b, to)
	b.WriteString("</ToUserName><FromUserName>")
	cdata(&b, from)
	b.WriteString("</FromUserName><CreateTime>")
	b.WriteString(strconv.FormatInt(at.Unix(), 10))
	b.WriteString("</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>")
	cdata(&b, content)
	b.WriteString("</Content></xml>")
	return b.Bytes()
}

// EncryptedReply wraps an encrypted reply in the safe-mode envelope with
// its signature.
func EncryptedReply(encrypted, token, timestamp, nonce string) []byte {
	var b bytes.Buffer
	b.WriteString("<xml><Encrypt>")
	cdata(&b, encrypted)
	b.WriteString("</Encrypt><MsgSignature>")
	cdata(&b, Sign(token, timestamp, nonce, encrypted))
	b.WriteString("</MsgSignature><TimeStamp>")
	b.WriteString(timestamp)
	b.WriteString("</TimeStamp><Nonce>")
	cdata(&b, nonce)
	b.WriteString("</Nonce></xml>")
	return b.Bytes()
}

// cdata writes s as CDATA sections; a "]]>" inside s is split across two.
func cdata(b *bytes.Buffer, s string) {
	b.WriteString("<![CDATA[")
	b.WriteString(strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>"))
	b.WriteString("]]>")
}
