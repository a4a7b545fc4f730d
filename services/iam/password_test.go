package iam

import (
	"strings"
	"testing"
)

// cheapArgon2 keeps the tests fast; BenchmarkHashPassword measures the
// defaults.
var cheapArgon2 = Argon2Config{MemoryKiB: 64, Iterations: 1, Threads: 1}

func TestPasswordHash(t *testing.T) {
	const pw = "correct horse battery staple"
	h, err := HashPassword(pw, cheapArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string of the parameters", h)
	}
	if strings.Contains(h, pw) {
		t.Fatal("the hash holds the password")
	}
	h2, _ := HashPassword(pw, cheapArgon2)
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	// A hash made with other parameters still verifies: they are read
	// from the string.
	other, _ := HashPassword(pw, Argon2Config{MemoryKiB: 128, Iterations: 2, Threads: 2})
	tests := []struct {
		name, password, hash string
		want                 bool
		wantErr              bool
	}{
		{"right", pw, h, true, false},
		{"wrong", pw + "!", h, false, false},
		{"empty password", "", h, false, false},
		{"other parameters", pw, other, true, false},
		{"not argon2id", pw, "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", false, true},
		{"bcrypt", pw, "$2a$10$abcdefghijklmnopqrstuu", false, true},
		{"absurd memory", pw, strings.Replace(h, "m=64", "m=99999999", 1), false, true},
		{"zero threads", pw, strings.Replace(h, "p=1", "p=0", 1), false, true},
		{"unknown parameter", pw, strings.Replace(h, "t=1", "x=1", 1), false, true},
		{"empty hash", pw, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(tt.password, tt.hash)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("VerifyPassword = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
