package tabular

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDescribeColumnsNeverQuotesData(t *testing.T) {
	t.Parallel()
	require.Equal(t, `"Datum", "Uhrzeit", "Pat.-Nr."`, describeColumns([]string{"Datum", " Uhrzeit ", "", "Pat.-Nr."}))
	got := describeColumns([]string{"11.01.2027", "08:00", "Müller", "Jürgen", "0171 3920001"})
	require.NotContains(t, got, "Müller")
	require.NotContains(t, got, "3920001")
	require.Contains(t, got, "header line missing")
	require.NotContains(t, describeColumns([]string{"Name", "anna@example.org"}), "anna")
	require.Contains(t, describeColumns([]string{"a\x01b"}), "binary")
	require.Equal(t, "(none)", describeColumns([]string{"", " "}))
}
