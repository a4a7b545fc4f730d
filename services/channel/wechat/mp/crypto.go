package mp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// blockSize is the block WeChat pads to: PKCS#7 over 32 bytes, not AES's
// 16.
const blockSize = 32

// ErrDecrypt is a safe-mode message that does not decrypt to a message
// of this account: bad base64, length or padding, a length prefix past
// the end, or another AppID.
var ErrDecrypt = errors.New("wechat: cannot decrypt")

// Cipher encrypts and decrypts the safe-mode envelope of one account:
// AES-256-CBC with the EncodingAESKey as the key and its first 16 bytes
// as the IV, over 16 random bytes, the message's length (4 bytes, big
// endian), the message and the AppID.
type Cipher struct {
	block cipher.Block
	iv    []byte
	appID string
}

// NewCipher returns the Cipher of the account appID with encodingAESKey,
// the 43 characters the account's settings show.
func NewCipher(encodingAESKey, appID string) (*Cipher, error) {
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("encodingAESKey: %d characters; accepted: the 43 characters of the account's settings", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("encodingAESKey: not base64 of 32 bytes; accepted: the 43 characters of the account's settings")
	}
	if appID == "" {
		return nil, errors.New("appID: empty; safe mode checks it")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("encodingAESKey: %w", err)
	}
	return &Cipher{block: block, iv: key[:aes.BlockSize], appID: appID}, nil
}

// Decrypt opens an Encrypt element's base64 text and returns the message
// it holds, after checking the padding, the length prefix and the AppID.
func (c *Cipher) Decrypt(encrypted string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, fmt.Errorf("%w: Encrypt is not base64", ErrDecrypt)
	}
	if len(raw) == 0 || len(raw)%blockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a multiple of %d", ErrDecrypt, len(raw), blockSize)
	}
	plain := make([]byte, len(raw))
	cipher.NewCBCDecrypter(c.block, c.iv).CryptBlocks(plain, raw)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > blockSize || pad > len(plain) {
		return nil, fmt.Errorf("%w: bad padding", ErrDecrypt)
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("%w: bad padding", ErrDecrypt)
		}
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, fmt.Errorf("%w: too short", ErrDecrypt)
	}
	n := binary.BigEndian.Uint32(plain[16:20])
	body := plain[20:]
	if uint64(n) > uint64(len(body)) {
		return nil, fmt.Errorf("%w: the length prefix (%d) is past the end (%d)", ErrDecrypt, n, len(body))
	}
	msg, appID := body[:n], body[n:]
	if subtle.ConstantTimeCompare(appID, []byte(c.appID)) != 1 {
		return nil, fmt.Errorf("%w: the message is for another AppID", ErrDecrypt)
	}
	return bytes.Clone(msg), nil
}

// Encrypt seals msg for a passive reply in safe mode and returns the
// base64 text of its Encrypt element.
func (c *Cipher) Encrypt(msg []byte) (string, error) {
	var b bytes.Buffer
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	b.Write(nonce)
	if len(msg) > 1<<30 {
		return "", errors.New("wechat: message too large to encrypt")
	}
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(msg)))) //nolint:gosec // bounded above
	b.Write(msg)
	b.WriteString(c.appID)
	pad := blockSize - b.Len()%blockSize
	b.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	out := b.Bytes()
	cipher.NewCBCEncrypter(c.block, c.iv).CryptBlocks(out, out)
	return base64.StdEncoding.EncodeToString(out), nil
}
