package phone

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/praxisbote/praxisbote/schemas"
)

func TestParseCell(t *testing.T) {
	t.Parallel()
	m := schemas.PhoneMobile
	l := schemas.PhoneLandline
	cases := []struct {
		cell    string
		want    []schemas.Phone
		wantErr bool
	}{
		{cell: "0171 3920001", want: []schemas.Phone{{E164: "+491713920001", Kind: m}}},
		{cell: "+49 171 3920002", want: []schemas.Phone{{E164: "+491713920002", Kind: m}}},
		{cell: "0049-171-3920003", want: []schemas.Phone{{E164: "+491713920003", Kind: m}}},
		{cell: "(0171) 392 00 04", want: []schemas.Phone{{E164: "+491713920004", Kind: m}}},
		{cell: "0171/392 00-05", want: []schemas.Phone{{E164: "+491713920005", Kind: m}}},
		{cell: "01713920006", want: []schemas.Phone{{E164: "+491713920006", Kind: m}}},
		{cell: "+49 (0)171 3920007", want: []schemas.Phone{{E164: "+491713920007", Kind: m}}},
		{cell: "0176 04069010", want: []schemas.Phone{{E164: "+4917604069010", Kind: m}}},
		{cell: "0176-04069013", want: []schemas.Phone{{E164: "+4917604069013", Kind: m}}},
		{cell: "+4917604069014", want: []schemas.Phone{{E164: "+4917604069014", Kind: m}}},
		{cell: "+49 171 392 00 18", want: []schemas.Phone{{E164: "+491713920018", Kind: m}}},
		{cell: "1713920046", want: []schemas.Phone{{E164: "+491713920046", Kind: m}}},
		{cell: "0171 3920011 / 0176 04069011", want: []schemas.Phone{{E164: "+491713920011", Kind: m}, {E164: "+4917604069011", Kind: m}}},
		{cell: "030 23125001", want: []schemas.Phone{{E164: "+493023125001", Kind: l}}},
		{cell: "(040) 66969 005", want: []schemas.Phone{{E164: "+494066969005", Kind: l}}},
		{cell: "089 99998003", want: []schemas.Phone{{E164: "+498999998003", Kind: l}}},
		{cell: "+49 30 23125032", want: []schemas.Phone{{E164: "+493023125032", Kind: l}}},
		{cell: "0171 392", wantErr: true},
		{cell: "491713920006", wantErr: true},
		{cell: "78788788", wantErr: true},
		{cell: "", want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.cell, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCell(tc.cell)
			if tc.wantErr {
				require.Error(t, err)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseCellErrorsCarryNoNumberAndKeepTheirKind(t *testing.T) {
	t.Parallel()
	_, err := ParseCell("0171 392")
	require.ErrorIs(t, err, ErrInvalid)
	require.NotContains(t, err.Error(), "392")
	got, err := ParseCell("0171 3920011 / 0171 392")
	require.ErrorIs(t, err, ErrInvalid)
	require.NotContains(t, err.Error(), "392")
	require.Len(t, got, 1, "the valid part is kept")
	_, err = ParseCell("491713920006")
	require.ErrorIs(t, err, ErrAmbiguous)
}

func TestParseInternational(t *testing.T) {
	t.Parallel()
	p, err := ParseInternational("491713920006")
	require.NoError(t, err)
	require.Equal(t, schemas.Phone{E164: "+491713920006", Kind: schemas.PhoneMobile}, p)
	p, err = ParseInternational("4917604069020")
	require.NoError(t, err)
	require.Equal(t, "+4917604069020", p.E164)
	_, err = ParseInternational("abc")
	require.ErrorIs(t, err, ErrInvalid)
}

func TestMergeKeepsOrder(t *testing.T) {
	t.Parallel()
	a := schemas.Phone{E164: "+491713920001", Kind: schemas.PhoneMobile}
	b := schemas.Phone{E164: "+493023125001", Kind: schemas.PhoneLandline}
	require.Equal(t, []schemas.Phone{a, b}, Merge([]schemas.Phone{a}, b, a))
}
