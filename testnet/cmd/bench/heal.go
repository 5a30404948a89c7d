package main

import (
	"context"
	"errors"
)

// benchHeal measures convergence after a partition heals.
//
// It needs testnet.HealPartition, which the testnet package does not have
// yet; until it does, the report says so.
func benchHeal(ctx context.Context, l *lab, cfg config) section {
	return section{name: "heal", title: "Convergence after a partition heals",
		err: errors.New("not available: testnet.HealPartition does not exist yet")}
}
