//go:build tools

// Package praxisbote pins modules the project depends on before every
// package that imports them exists, so that `go mod tidy` keeps them.
package praxisbote

import (
	_ "github.com/ThreeDotsLabs/watermill"
	_ "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	_ "github.com/ThreeDotsLabs/watermill/pubsub/tests"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/go-resty/resty/v2"
	_ "github.com/google/uuid"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "github.com/xuri/excelize/v2"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/text/encoding/charmap"
	_ "modernc.org/sqlite"
)
