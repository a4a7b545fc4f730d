// Package condition sets status conditions the way both kubedesk
// controllers do: with the generation they describe and a message the API
// server accepts.
package condition

import (
	"fmt"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxMessage bounds a condition's message. The API allows 32768 bytes; a
// policy calendar with hundreds of bad dates could say more, and the
// status patch would then fail over and over.
const MaxMessage = 4096

// Set sets the condition typ in conds (its last transition time changes
// only when its status does), observed at generation.
func Set(conds *[]metav1.Condition, generation int64, typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: truncate(msg), ObservedGeneration: generation,
	})
}

// truncate shortens msg to MaxMessage bytes, on a rune boundary, saying so.
func truncate(msg string) string {
	if len(msg) <= MaxMessage {
		return msg
	}
	cut := MaxMessage - 64
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return fmt.Sprintf("%s … (%d more bytes)", msg[:cut], len(msg)-cut)
}
