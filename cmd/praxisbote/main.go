// Command praxisbote connects a dental practice's PMS exports and
// anamnesis forms to WhatsApp and SMS reminders, with consent.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/praxisbote/praxisbote/config"
)

// globals are the flags every command takes.
type globals struct {
	dataDir    string
	configPath string
}

func (g *globals) load() (config.Config, error) {
	path := g.configPath
	if path == "" {
		path = os.Getenv("PRAXISBOTE_CONFIG")
	}
	return config.Load(path)
}

// exitError carries a process exit code for a failure already reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "praxisbote:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "praxisbote",
		Short:         "Appointment reminders and replies over WhatsApp and SMS for dental practices, with consent",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := os.Getenv("PRAXISBOTE_DATA_DIR")
	if def == "" {
		def = "./praxisbote-data"
	}
	root.PersistentFlags().StringVar(&g.dataDir, "data-dir", def, "data directory: database, key file, inbox, archive, error and writeback folders")
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "YAML configuration file (default: built-in defaults; env PRAXISBOTE_CONFIG)")
	root.AddCommand(newDemo(g), newServe(g), newIngest(g), newSandbox(g), newMigrate(g), newDeliveries(g), newConsent(g), newInbox(g), newQR(g), newProfiles(g), newArchive(g))
	return root
}
