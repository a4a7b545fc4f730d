package condition

import (
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSet(t *testing.T) {
	var conds []metav1.Condition
	Set(&conds, 3, "Ready", metav1.ConditionTrue, "Available", "fine")
	c := meta.FindStatusCondition(conds, "Ready")
	if c == nil || c.ObservedGeneration != 3 || c.Message != "fine" || c.LastTransitionTime.IsZero() {
		t.Fatalf("condition %+v", c)
	}

	long := strings.Repeat("日本", MaxMessage) // 3-byte runes
	Set(&conds, 4, "Ready", metav1.ConditionFalse, "Invalid", long)
	c = meta.FindStatusCondition(conds, "Ready")
	if len(c.Message) > MaxMessage || !utf8.ValidString(c.Message) || !strings.HasSuffix(c.Message, "more bytes)") {
		t.Errorf("message of %d bytes (valid UTF-8 %v) ending %q; want at most %d, cut on a rune, saying so",
			len(c.Message), utf8.ValidString(c.Message), c.Message[len(c.Message)-20:], MaxMessage)
	}
}
