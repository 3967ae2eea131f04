package main

import (
	"enrolldesk/biometric/face/facecli"
	"enrolldesk/biometric/finger"
	"enrolldesk/desk/cli"
	"enrolldesk/desk/deskcli"
	"enrolldesk/desk/ops"
	"enrolldesk/desk/wire"
	"enrolldesk/reader/cardcli"
	"enrolldesk/reader/wsq/wsqcli"
	hqsync "enrolldesk/sync"
)

// Commands lists every feature's commands. Add one line per feature package.
func Commands() [][]cli.Command {
	return [][]cli.Command{
		deskcli.Commands(),
		cardcli.Commands(),
		finger.Commands(),
		hqsync.Commands(),
		ops.Commands(),
		facecli.Commands(),
		wire.Commands(),
		wsqcli.Commands(),
	}
}
