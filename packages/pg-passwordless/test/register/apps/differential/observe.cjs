// What an app can observe of its pg clients, written down in order and printed as one JSON line when
// the process exits on its own: the outcome of each connect(), query() and end() (or that it never
// settled), and each 'error' and 'end' event. The differential test compares these lines.
const events = [];
const pending = new Set();

/** An error as the app sees it: its class, message, SQLSTATE and cause, never its stack. */
function describe(error) {
  if (!(error instanceof Error)) return String(error);
  const code = error.code ? ` [${error.code}]` : '';
  const cause = error.cause ? ` (cause: ${describe(error.cause)})` : '';
  return `${error.constructor.name}: ${error.message}${code}${cause}`;
}

function note(what) {
  events.push(what);
}

/** Records how a promise settles; one still pending at exit is written as such. */
function settle(name, promise, show = () => 'resolved') {
  pending.add(name);
  promise.then(
    (value) => {
      pending.delete(name);
      note(`${name}: ${show(value)}`);
    },
    (error) => {
      pending.delete(name);
      note(`${name}: rejected ${describe(error)}`);
    },
  );
  return promise;
}

/** Records a client's (or a pool's) 'error' and 'end' events. */
function watch(name, emitter) {
  emitter.on('error', (error) => note(`${name} 'error' event: ${describe(error)}`));
  emitter.on('end', () => note(`${name} 'end' event`));
  return emitter;
}

process.on('exit', () => {
  for (const name of pending) note(`${name}: never settled`);
  console.log(JSON.stringify({ events }));
});

module.exports = { describe, note, settle, watch };
