// Package phone normalises the phone numbers found in practice exports and
// provider webhooks to E.164, with German rules (default region DE), and
// tells mobile numbers (messaging targets) from landlines.
package phone

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/praxisbote/praxisbote/schemas"
)

// DefaultRegion is the region numbers without a country code belong to.
const DefaultRegion = "DE"

// ErrInvalid means a cell held something but no valid number came out.
var ErrInvalid = errors.New("not a valid phone number")

// ErrAmbiguous means a number starts with a country code but has neither
// "+" nor "00": "491711234567" could be international or a mistyped
// national number, and guessing could message a stranger.
var ErrAmbiguous = errors.New("number starts with a country code but has no + or 00; write it as +49… or 0…")

var (
	splitter   = regexp.MustCompile(`\s*(?:/|;|,|\bund\b)\s+|\s+(?:/|;|,)\s*`)
	trunkZero  = regexp.MustCompile(`\(\s*0\s*\)`)
	onlyDigits = regexp.MustCompile(`^[0-9]+$`)
)

// Parse normalises one number written any way a German practice writes it.
func Parse(raw string) (schemas.Phone, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return schemas.Phone{}, ErrInvalid
	}
	// "+49 (0)171 …": the bracketed trunk zero must go, or it becomes part
	// of the subscriber number.
	s = trunkZero.ReplaceAllString(s, "")
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '/' || r == '.' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, s)
	if onlyDigits.MatchString(compact) && strings.HasPrefix(compact, "49") && len(compact) >= 11 {
		return schemas.Phone{}, ErrAmbiguous
	}
	num, err := phonenumbers.Parse(s, DefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return schemas.Phone{}, ErrInvalid
	}
	return schemas.Phone{E164: phonenumbers.Format(num, phonenumbers.E164), Kind: kindOf(num)}, nil
}

// ParseInternational reads a number that providers write in international
// form without "+" (WhatsApp wa_id, seven.io sender). A plain DE parse of
// "491713920006" would yield the valid-looking landline +49491713920006.
func ParseInternational(v string) (schemas.Phone, error) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "+")
	if v == "" || !onlyDigits.MatchString(v) {
		return schemas.Phone{}, ErrInvalid
	}
	num, err := phonenumbers.Parse("+"+v, DefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return schemas.Phone{}, ErrInvalid
	}
	return schemas.Phone{E164: phonenumbers.Format(num, phonenumbers.E164), Kind: kindOf(num)}, nil
}

// ParseCell reads a spreadsheet or form cell that may hold one number or
// several. The whole cell is tried first, so "0171/392 00-05" stays one
// number; only when that fails is it split ("0171 3920011 / 0176 04069011").
// An empty cell gives no phones and no error. A cell from which nothing
// valid comes gives an error naming why; numbers that did parse are kept.
func ParseCell(cell string) ([]schemas.Phone, error) {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return nil, nil
	}
	if p, err := Parse(cell); err == nil {
		return []schemas.Phone{p}, nil
	} else if errors.Is(err, ErrAmbiguous) {
		return nil, err
	}
	// Errors name the position, never the number: they end up in ingest
	// reports, and a phone number is personal data.
	parts := splitter.Split(cell, -1)
	if len(parts) < 2 {
		return nil, ErrInvalid
	}
	var out []schemas.Phone
	var bad []error
	for i, part := range parts {
		p, err := Parse(part)
		if err != nil {
			bad = append(bad, fmt.Errorf("number %d of %d: %w", i+1, len(parts), err))
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(bad...)
}

func kindOf(num *phonenumbers.PhoneNumber) schemas.PhoneKind {
	if phonenumbers.GetNumberType(num) == phonenumbers.MOBILE {
		return schemas.PhoneMobile
	}
	return schemas.PhoneLandline
}

// Merge appends phones not yet in list, keeping order (the first mobile is
// the preferred messaging number).
func Merge(list []schemas.Phone, more ...schemas.Phone) []schemas.Phone {
	for _, p := range more {
		dup := false
		for _, q := range list {
			if q.E164 == p.E164 {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, p)
		}
	}
	return list
}
