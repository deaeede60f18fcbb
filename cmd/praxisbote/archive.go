package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newArchive(g *globals) *cobra.Command {
	root := &cobra.Command{Use: "archive", Short: "The exports kept (encrypted) in archive/ and error/"}
	var out string
	open := &cobra.Command{
		Use:   "open FILE.sealed",
		Short: "Decrypt a kept export, to stdout or --out FILE (it holds patient data: handle it as such)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			a, err := g.openApp(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			plain, err := a.OpenFile(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(plain)
				return err
			}
			return os.WriteFile(out, plain, 0o600)
		},
	}
	open.Flags().StringVar(&out, "out", "", "write to this file (mode 0600) instead of stdout")
	root.AddCommand(open)
	return root
}
