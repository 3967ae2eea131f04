// Vite empties dist/ on every build; main.go embeds dist/, and `go vet ./...` on a fresh clone
// needs the directory to exist with at least one file, so the committed .gitkeep is restored.
import { writeFileSync } from 'node:fs';
writeFileSync(new URL('../dist/.gitkeep', import.meta.url), '');
