package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/praxisbote/praxisbote/poster"
	"github.com/praxisbote/praxisbote/schemas"
)

// purposeLabels are the German words a patient reads for each purpose.
var purposeLabels = map[schemas.Purpose]string{
	schemas.PurposeAppointmentReminder: "Terminerinnerungen",
	schemas.PurposeAppointmentChange:   "Terminänderungen",
	schemas.PurposeRecall:              "Erinnerungen an Vorsorgetermine (Recall)",
	schemas.PurposeConsentConfirmation: "Bestätigung Ihrer Einwilligung",
	schemas.PurposePracticeReply:       "Antworten der Praxis auf Ihre Nachrichten",
}

func newQR(g *globals) *cobra.Command {
	var practice, out string
	cmd := &cobra.Command{
		Use:   "qr --out FILE",
		Short: "Write the QR opt-in poster for the reception desk (FILE.pdf and FILE.png)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if practice != "" && practice != cfg.Practice.ID {
				return fmt.Errorf("practice %q is not configured (configured: %q)", practice, cfg.Practice.ID)
			}
			p := poster.Poster{PracticeName: cfg.Practice.Name, WhatsAppNumber: cfg.Practice.WhatsAppNumber,
				PracticeCode: cfg.Practice.Code, TextVersion: cfg.Consent.CurrentText}
			for _, pu := range cfg.TextPurposes(cfg.Consent.CurrentText) {
				p.Purposes = append(p.Purposes, purposeLabels[pu])
			}
			if err := p.Validate(); err != nil {
				return err
			}
			base := strings.TrimSuffix(strings.TrimSuffix(out, ".pdf"), ".png")
			pdf, err := p.PDF()
			if err != nil {
				return err
			}
			png, err := p.PNG(1024)
			if err != nil {
				return err
			}
			if err := os.WriteFile(base+".pdf", pdf, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(base+".png", png, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s.pdf (A4 poster) and %s.png (QR code)\nlink: %s\n\n%s\n", base, base, p.Link(), p.Text())
			return nil
		},
	}
	cmd.Flags().StringVar(&practice, "practice", "", "practice id (default: the configured practice)")
	cmd.Flags().StringVar(&out, "out", "qr-poster", "output file name; .pdf and .png are written")
	return cmd
}
