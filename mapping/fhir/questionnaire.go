package fhir

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/praxisbote/praxisbote/mapping/consentdecl"
	"github.com/praxisbote/praxisbote/schemas"
)

// finalStatuses are the QuestionnaireResponse statuses whose answers the
// patient has submitted. in-progress answers may still change, stopped ones
// were abandoned and entered-in-error ones never counted.
var finalStatuses = map[string]bool{"completed": true, "amended": true}

func (m *mapper) questionnaireResponse(n *node) {
	var qr questionnaireResponse
	if err := json.Unmarshal(n.raw, &qr); err != nil {
		m.reject(n.path, "QuestionnaireResponse is not valid FHIR JSON"+jsonWhere(err))
		return
	}
	var reasons []string
	if !finalStatuses[qr.Status] {
		reasons = append(reasons, "questionnaire response status "+consentdecl.Quote(qr.Status))
	}
	patientID := ""
	switch target := m.subject(qr, n); {
	case target == nil:
		reasons = append(reasons, "patient unresolved")
	case target.typ != "Patient":
		reasons = append(reasons, "subject is a "+target.typ+", not a Patient")
	case len(reasons) > 0:
		// A form that was not submitted (or was entered in error) is not a
		// source of master data either, so its patient is not imported.
	default:
		r := m.patient(target)
		if !r.ok {
			reasons = append(reasons, "patient unresolved ("+r.reason+")")
		}
		patientID = r.id
	}
	if len(reasons) > 0 {
		m.skip(n.path, strings.Join(reasons, "; "))
		return
	}

	form := consentdecl.Form{PatientExternalID: patientID, Source: schemas.SourceAnamnesisForm}
	words := m.p.words()
	ref := n.path
	if n.id != "" {
		ref = "QuestionnaireResponse/" + n.id
	}
	textSeen := false
	walk(qr.Item, func(it qrItem) {
		field := fmt.Sprintf("%s.item.where(linkId='%s')", n.path, it.LinkID)
		if it.LinkID == m.p.TextVersionLinkID {
			v := ""
			if len(it.Answer) > 0 {
				v = answerText(it.Answer[0])
			}
			switch {
			case v == "":
				m.warn(field, "consent text version item without a version")
			case textSeen && v != form.TextVersion:
				m.warn(field, "two different consent text versions in one form; neither is used")
				form.TextVersion = ""
			case !textSeen:
				form.TextVersion, form.TextField = v, field
			}
			textSeen = true
			return
		}
		ch, ok := m.channelOf(it.LinkID)
		if !ok || len(it.Answer) == 0 {
			// An unanswered consent question is no consent and no refusal.
			return
		}
		if len(it.Answer) > 1 {
			m.warn(field, "consent item has several answers; the first is used")
		}
		granted, ok := readAnswer(it.Answer[0], words)
		if !ok {
			m.warn(field, "consent answer is neither true/false nor a declared yes or no; nothing recorded")
			return
		}
		form.Answers = append(form.Answers, consentdecl.Answer{
			Channel:  ch,
			Granted:  granted,
			Field:    field,
			Evidence: fmt.Sprintf("%s#%s item %s", m.hash, ref, it.LinkID),
		})
	})
	if len(form.Answers) == 0 {
		return
	}
	if strings.TrimSpace(qr.Authored) == "" {
		m.warn(n.path+".authored", "QuestionnaireResponse has no authored time")
	} else if at, err := m.instant(qr.Authored, n.path+".authored"); err != nil {
		m.warn(n.path+".authored", "authored is not a date-time with time of day")
	} else {
		form.OccurredAt = at
	}
	events, probs := m.p.TextPurposes.Events(form)
	m.b.Consents = append(m.b.Consents, events...)
	m.b.Warnings = append(m.b.Warnings, probs...)
}

func (m *mapper) subject(qr questionnaireResponse, n *node) *node {
	if qr.Subject == nil {
		return nil
	}
	return m.resolve(qr.Subject.Reference, n)
}

func (m *mapper) channelOf(linkID string) (schemas.Channel, bool) {
	for _, r := range m.p.Consent {
		if r.LinkID == linkID {
			return r.Channel, true
		}
	}
	return "", false
}

// walk visits every item depth-first in document order, including items
// nested under answers, since forms group consent questions freely.
func walk(items []qrItem, fn func(qrItem)) {
	for _, it := range items {
		fn(it)
		walk(it.Item, fn)
		for _, a := range it.Answer {
			walk(a.Item, fn)
		}
	}
}

func answerText(a qrAnswer) string {
	switch {
	case a.ValueString != nil:
		return strings.TrimSpace(*a.ValueString)
	case a.ValueCoding != nil:
		return strings.TrimSpace(a.ValueCoding.Code)
	}
	return ""
}

func readAnswer(a qrAnswer, w consentdecl.Words) (granted, ok bool) {
	if a.ValueBoolean != nil {
		return *a.ValueBoolean, true
	}
	if v := answerText(a); v != "" {
		return w.Read(v)
	}
	return false, false
}
