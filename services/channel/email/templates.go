package email

import (
	"embed"
	"strings"
	"text/template"

	ticketv1 "github.com/kubedesk/kubedesk/proto/gen/go/kubedesk/ticket/v1"
)

//go:embed templates/*.txt
var templateFiles embed.FS

// acknowledgements holds the acknowledgement template of each language.
var acknowledgements = template.Must(template.ParseFS(templateFiles, "templates/acknowledgement.*.txt"))

// acknowledgement is the text of the acknowledgement of t, in the
// tenant's language: Chinese for a zh locale, English otherwise.
func acknowledgement(from Sender, t *ticketv1.Ticket) (string, error) {
	name := "acknowledgement.en.txt"
	if strings.HasPrefix(strings.ToLower(from.Locale), "zh") {
		name = "acknowledgement.zh.txt"
	}
	var b strings.Builder
	err := acknowledgements.ExecuteTemplate(&b, name, struct {
		Requester, Subject, Team string
		Number                   int64
	}{t.GetRequester().GetName(), t.GetSubject(), from.Name, t.GetNumber()})
	return b.String(), err
}
