#!/usr/bin/env node
// The pg-passwordless-emulator command: a plain JavaScript entry (no shell wrapper), running the built CLI.
// In a clone of the repository, `npm install` builds dist/ (the root package's prepare script).
import '../dist/main.js';
