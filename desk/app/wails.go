package app

import (
	"context"
	"io/fs"

	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"
)

// WailsOptions are the window's options: the built frontend as assets, the App's bound structs,
// Start/Stop on startup/shutdown, and the one place where events meet Wails' runtime. main.go
// passes them to wails.Run; the bridge test reads Bind from here to prove both expose the same
// methods.
func WailsOptions(a *App, assets fs.FS) *options.App {
	return &options.App{
		Title:     "enrolldesk",
		Width:     1280,
		Height:    800,
		MinWidth:  1024,
		MinHeight: 700,
		AssetServer: &assetserver.Options{
			Assets: assets,
		},
		BackgroundColour: &options.RGBA{R: 238, G: 242, B: 246, A: 255},
		OnStartup: func(ctx context.Context) {
			a.Events.Attach(EmitterFunc(func(name string, data any) { runtime.EventsEmit(ctx, name, data) }))
			a.Start(ctx)
		},
		OnShutdown: func(context.Context) { a.Stop() },
		Bind:       a.Bound(),
		Linux:      &linux.Options{ProgramName: "enrolldesk", WebviewGpuPolicy: linux.WebviewGpuPolicyNever},
	}
}
