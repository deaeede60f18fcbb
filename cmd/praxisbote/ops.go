package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/praxisbote/praxisbote/app"
	"github.com/praxisbote/praxisbote/mapping/phone"
	"github.com/praxisbote/praxisbote/schemas"
	"github.com/praxisbote/praxisbote/store"
	"github.com/praxisbote/praxisbote/store/sqlite"
)

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// openApp opens the data dir for a one-shot command.
func (g *globals) openApp(cmd *cobra.Command) (*app.App, error) {
	cfg, err := g.load()
	if err != nil {
		return nil, err
	}
	return app.Open(cmd.Context(), cfg, g.dataDir, app.Options{})
}

var validState = map[string]bool{store.DeliveryScheduled: true, store.DeliverySending: true, store.DeliverySent: true,
	store.DeliveryDelivered: true, store.DeliveryRead: true, store.DeliveryFailed: true, store.DeliveryDead: true,
	store.DeliverySkippedNoConsent: true, store.DeliveryCancelled: true}

func newDeliveries(g *globals) *cobra.Command {
	root := &cobra.Command{Use: "deliveries", Short: "List and replay deliveries (failed, dead, skipped for missing consent)"}
	var status, practice string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List deliveries, newest first",
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.openApp(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			f := sqlite.DeliveryFilter{PracticeID: practice}
			if status != "" {
				if !validState[status] {
					return fmt.Errorf("--status %q: want one of scheduled, sending, sent, delivered, read, failed, dead, skipped_no_consent, cancelled", status)
				}
				f.States = []string{status}
			}
			out, err := a.DeliveryViews(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tCHANNEL\tPATIENT\tAPPOINTMENT\tATTEMPTS\tCODE\tREASON")
			for _, d := range out {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.State, d.Channel, d.Patient, d.Appointment, d.Attempts, d.ProviderCode, d.Reason)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&status, "status", "", "only this state: failed, dead, skipped_no_consent, sent, delivered, read, cancelled")
	list.Flags().StringVar(&practice, "practice", "", "practice id (default: the configured practice)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var ids []int64
	var dead, replayJSON bool
	var since time.Duration
	replay := &cobra.Command{
		Use:   "replay (--id ID... | --dead [--since DUR])",
		Short: "Queue failed or dead deliveries again; consent and the appointment are checked again, nothing the provider accepted is sent twice",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (len(ids) == 0) == !dead {
				return fmt.Errorf("give either --id or --dead")
			}
			a, err := g.openApp(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			if dead {
				var from time.Time
				if since > 0 {
					from = time.Now().Add(-since)
				}
				if ids, err = a.DeadSince(cmd.Context(), from); err != nil {
					return err
				}
			}
			res, err := a.Replay(cmd.Context(), ids)
			if err != nil {
				return err
			}
			if replayJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			queued := 0
			for _, r := range res {
				if r.Queued {
					queued++
					fmt.Fprintf(cmd.OutOrStdout(), "delivery %d: queued again\n", r.DeliveryID)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "delivery %d: not replayed: %s\n", r.DeliveryID, r.Reason)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d of %d queued; a running `praxisbote serve` sends them\n", queued, len(res))
			return nil
		},
	}
	replay.Flags().Int64SliceVar(&ids, "id", nil, "delivery id (repeatable)")
	replay.Flags().BoolVar(&dead, "dead", false, "replay every dead delivery")
	replay.Flags().DurationVar(&since, "since", 0, "with --dead: only those that died within this duration")
	replay.Flags().BoolVar(&replayJSON, "json", false, "print JSON")
	root.AddCommand(list, replay)
	return root
}

// consentJSON is one consent event as the history shows it.
type consentJSON struct {
	ID          int64    `json:"id"`
	Patient     string   `json:"patient,omitempty"`
	ByPhone     bool     `json:"by_phone"`
	Channel     string   `json:"channel"`
	Purposes    []string `json:"purposes"`
	Action      string   `json:"action"`
	Source      string   `json:"source"`
	TextVersion string   `json:"text_version,omitempty"`
	Evidence    string   `json:"evidence,omitempty"`
	OccurredAt  string   `json:"occurred_at"`
	RecordedAt  string   `json:"recorded_at"`
	RecordedBy  string   `json:"recorded_by"`
	Hash        string   `json:"hash"`
}

func newConsent(g *globals) *cobra.Command {
	root := &cobra.Command{Use: "consent", Short: "Consent history and ledger verification"}
	var patient, number, practice string
	var asJSON bool
	history := &cobra.Command{
		Use:   "history (--patient ID | --phone NUMBER)",
		Short: "Every consent event of a patient (PMS patient number) or a phone number, oldest first",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (patient == "") == (number == "") {
				return fmt.Errorf("give either --patient or --phone")
			}
			a, err := g.openApp(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			ctx := cmd.Context()
			var events []store.ConsentRecord
			if patient != "" {
				ref, err := a.Store.FindPatient(ctx, a.Cfg.Practice.ID, a.Cfg.Practice.Source, patient)
				if err != nil {
					return fmt.Errorf("patient %s: %w", patient, err)
				}
				if events, err = a.Store.ConsentHistory(ctx, ref.ID); err != nil {
					return err
				}
			} else {
				p, err := phone.Parse(number)
				if err != nil {
					return fmt.Errorf("--phone: %w", err)
				}
				seen := map[int64]bool{}
				add := func(list []store.ConsentRecord) {
					for _, e := range list {
						if !seen[e.ID] {
							seen[e.ID] = true
							events = append(events, e)
						}
					}
				}
				byPhone, err := a.Store.ConsentByPhone(ctx, a.Cfg.Practice.ID, p.E164)
				if err != nil {
					return err
				}
				add(byPhone)
				ids, err := a.Store.PatientsByPhone(ctx, a.Cfg.Practice.ID, p.E164)
				if err != nil {
					return err
				}
				for _, id := range ids {
					h, err := a.Store.ConsentHistory(ctx, id)
					if err != nil {
						return err
					}
					add(h)
				}
				sort.Slice(events, func(i, j int) bool { return events[i].OccurredAt.Before(events[j].OccurredAt) })
			}
			loc := a.Cfg.Location()
			out := []consentJSON{}
			for _, e := range events {
				c := consentJSON{ID: e.ID, ByPhone: e.PhoneIndex != "", Channel: string(e.Channel), Action: string(e.Action), Source: string(e.Source),
					TextVersion: e.TextVersion, Evidence: e.Evidence, OccurredAt: app.FormatTime(e.OccurredAt, loc), RecordedAt: app.FormatTime(e.RecordedAt, loc),
					RecordedBy: e.RecordedBy, Hash: e.Hash, Purposes: []string{}}
				for _, p := range e.Purposes {
					c.Purposes = append(c.Purposes, string(p))
				}
				if e.PatientID != 0 {
					if p, err := a.Store.Patient(ctx, e.PatientID); err == nil {
						c.Patient = p.PatientRef.ExternalID
					}
				}
				out = append(out, c)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "OCCURRED\tPATIENT\tCHANNEL\tACTION\tSOURCE\tPURPOSES\tTEXT\tEVIDENCE")
			for _, c := range out {
				who := c.Patient
				if c.ByPhone {
					who += " (by number)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%s\t%s\n", c.OccurredAt, who, c.Channel, c.Action, c.Source, c.Purposes, c.TextVersion, c.Evidence)
			}
			return tw.Flush()
		},
	}
	history.Flags().StringVar(&patient, "patient", "", "PMS patient number")
	history.Flags().StringVar(&number, "phone", "", "phone number")
	history.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var verifyJSON bool
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the hash chain of the consent ledger: any edited, deleted or reordered event is reported",
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.openApp(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			p := practice
			if p == "" {
				p = a.Cfg.Practice.ID
			}
			rep, err := a.VerifyConsent(cmd.Context(), p)
			if err != nil {
				return err
			}
			if verifyJSON {
				if err := printJSON(cmd.OutOrStdout(), rep); err != nil {
					return err
				}
			} else {
				for _, pr := range rep.Problems {
					fmt.Fprintln(cmd.OutOrStdout(), "BROKEN:", pr)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "practice %s: %d events, head %s, ok=%v\n", rep.PracticeID, rep.Events, rep.Head, rep.OK)
			}
			if !rep.OK {
				return exitError{code: 3}
			}
			return nil
		},
	}
	verify.Flags().StringVar(&practice, "practice", "", "practice id (default: the configured practice)")
	verify.Flags().BoolVar(&verifyJSON, "json", false, "print JSON")
	var recPatient, recChannel, recAction, recReason, recBy, recText string
	var recPurposes []string
	record := &cobra.Command{
		Use:   "record --patient ID --channel whatsapp|sms --action granted|withdrawn --reason TEXT",
		Short: "Record a consent grant or withdrawal a patient gave to staff (phone call, letter, at the desk)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(recReason) == "" {
				return fmt.Errorf("--reason is required: the ledger keeps why staff recorded consent")
			}
			ch := schemas.Channel(recChannel)
			if ch != schemas.ChannelWhatsApp && ch != schemas.ChannelSMS {
				return fmt.Errorf("--channel %q: want whatsapp or sms", recChannel)
			}
			action := schemas.ConsentAction(recAction)
			if action != schemas.ConsentGranted && action != schemas.ConsentWithdrawn {
				return fmt.Errorf("--action %q: want granted or withdrawn", recAction)
			}
			a, err := g.openApp(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			ctx := cmd.Context()
			ref, err := a.Store.FindPatient(ctx, a.Cfg.Practice.ID, a.Cfg.Practice.Source, recPatient)
			if err != nil {
				return fmt.Errorf("patient %s: %w", recPatient, err)
			}
			text := recText
			if text == "" && action == schemas.ConsentGranted {
				text = a.Cfg.Consent.CurrentText
			}
			var purposes []schemas.Purpose
			for _, p := range recPurposes {
				pu, err := schemas.ParsePurpose(p)
				if err != nil {
					return err
				}
				purposes = append(purposes, pu)
			}
			if len(purposes) == 0 {
				if action == schemas.ConsentWithdrawn {
					purposes = schemas.Purposes
				} else {
					purposes = a.Cfg.TextPurposes(text)
				}
			}
			if len(purposes) == 0 {
				return fmt.Errorf("no purposes: give --purposes or a --text-version the config declares")
			}
			by := recBy
			if by == "" {
				by = os.Getenv("USER")
			}
			rec, added, err := a.Store.AppendConsent(ctx, a.Cfg.Practice.ID, ref.ID, "", schemas.ConsentEvent{Channel: ch, Purposes: purposes,
				Action: action, Source: schemas.SourceStaff, OccurredAt: time.Now(), TextVersion: text, Evidence: "staff: " + recReason}, "staff:"+by)
			if err != nil {
				return err
			}
			if !added {
				fmt.Fprintln(cmd.OutOrStdout(), "already recorded")
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recorded: patient %s %s %s for %v (event %d, hash %s)\n", recPatient, ch, action, purposes, rec.ID, rec.Hash[:12])
			return nil
		},
	}
	record.Flags().StringVar(&recPatient, "patient", "", "PMS patient number")
	record.Flags().StringVar(&recChannel, "channel", "whatsapp", "whatsapp or sms")
	record.Flags().StringVar(&recAction, "action", "", "granted or withdrawn")
	record.Flags().StringVar(&recReason, "reason", "", "why, e.g. \"consent on paper form at the desk\"")
	record.Flags().StringVar(&recBy, "by", "", "who records it (default $USER)")
	record.Flags().StringVar(&recText, "text-version", "", "consent text version the patient agreed to (default the current one)")
	record.Flags().StringSliceVar(&recPurposes, "purposes", nil, "purposes (default: what the text covers; all for a withdrawal)")
	root.AddCommand(history, verify, record)
	return root
}

func newInbox(g *globals) *cobra.Command {
	root := &cobra.Command{Use: "inbox", Short: "Patient messages that need a person"}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List messages that were not understood or not attributable (free text, reactions, ambiguous family numbers)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.openApp(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			out, err := a.InboxViews(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tRECEIVED\tCHANNEL\tTYPE\tPATIENT\tTEXT")
			for _, r := range out {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.ReceivedAt, r.Channel, r.Type, r.Patient, r.Text)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	root.AddCommand(list)
	return root
}
