package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/praxisbote/praxisbote/mapping/tabular"
	"github.com/praxisbote/praxisbote/pipelines/ingest"
)

func newProfiles(g *globals) *cobra.Command {
	root := &cobra.Command{Use: "profiles", Short: "Mapping profiles for CSV and XLSX exports"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the built-in tabular mapping profiles",
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROFILE\tFORMAT\tSNAPSHOT\tDESCRIPTION")
			for _, p := range tabular.Profiles() {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", p.Name, p.Format, p.Snapshot, strings.TrimSpace(p.Description))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "\nGDT, FHIR, iCalendar and HL7 files need no profile: they are recognised by their content.")
			return nil
		},
	}
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Show which profile matches a file and why the others do not",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f := ingest.Format(data); f != "tabular" {
				fmt.Fprintf(out, "%s: %s content, mapped without a tabular profile\n", args[0], f)
				return nil
			}
			for _, p := range tabular.Profiles() {
				if _, err := tabular.Detect(data, []tabular.Profile{p}); err != nil {
					reason := err.Error()
					if errors.Is(err, tabular.ErrNoProfile) {
						reason = strings.TrimPrefix(reason, tabular.ErrNoProfile.Error()+": ")
					}
					fmt.Fprintf(out, "  no   %s: %s\n", p.Name, reason)
				} else {
					fmt.Fprintf(out, "  yes  %s: the header has every column the profile names\n", p.Name)
				}
			}
			p, err := tabular.Detect(data, tabular.Profiles())
			if err != nil {
				fmt.Fprintf(out, "%s: no profile matches. %v\nWrite one from the template (see README, mapping/tabular/profiles/template.yaml).\n", args[0], err)
				return exitError{code: 2}
			}
			fmt.Fprintf(out, "%s: profile %s\n", args[0], p.Name)
			return nil
		},
	}
	root.AddCommand(list, check)
	return root
}
