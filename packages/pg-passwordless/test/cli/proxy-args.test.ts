// `proxy`'s flags for several targets, health endpoints and logs, read in process; and the command
// frame's `connections` positionals, which never show an argument that may be a piece of a password.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandArgs } from '../../src/cli/frame/parsed-args.ts';
import { parseProxyArgs } from '../../src/cli/proxy-command.ts';

const refused =
  (pattern: RegExp, hint?: RegExp) => (error: { code?: string; message: string; hint?: string }) => {
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.match(error.message, pattern);
    if (hint) assert.match(error.hint ?? '', hint);
    return true;
  };

describe('the frame’s several connection strings', () => {
  const spec = { usage: 'demo serve', options: {}, positionals: 'connections' as const };

  it('takes URLs in order, or one key/value string alone', () => {
    const urls = parseCommandArgs(['postgresql://a@db/one', 'postgres://a@db/two'], spec);
    assert.deepEqual(urls.connections, ['postgresql://a@db/one', 'postgres://a@db/two']);
    assert.equal(urls.connection, 'postgresql://a@db/one');
    assert.deepEqual(parseCommandArgs(['host=db user=a'], spec).connections, ['host=db user=a']);
    assert.deepEqual(parseCommandArgs([], spec).connections, []);
  });

  it('refuses the words of a key/value string the shell split, naming only their place', () => {
    assert.throws(
      () => parseCommandArgs(['host=db', 'user=a', 'password=s3cret-value'], spec),
      (error: { message: string; hint?: string; code?: string }) => {
        refused(/takes several targets as postgresql:\/\/ URLs, and argument 1 of 3 is not one \(not shown/)(
          error,
        );
        assert.doesNotMatch(`${error.message} ${error.hint}`, /s3cret|password=/);
        return true;
      },
    );
    assert.throws(
      () => parseCommandArgs(['postgresql://a@db/one', 'sslmode=disable password=s3cret'], spec),
      refused(/argument 2 of 2 is not one/, /quoted as one argument/),
    );
  });

  it('one connection string stays one, as before', () => {
    assert.throws(
      () =>
        parseCommandArgs(['postgresql://a@db/one', 'postgresql://a@db/two'], {
          ...spec,
          positionals: 'connection',
        }),
      refused(/takes one connection string/),
    );
  });
});

describe('proxy flags', () => {
  it('one --listen address per target, in order; the default serves one target', async () => {
    const one = await parseProxyArgs([]);
    assert.deepEqual(one.urls, []);
    assert.deepEqual(one.listen, [{ kind: 'tcp', host: '127.0.0.1', port: 5432 }]);
    const two = await parseProxyArgs([
      'postgresql://app@db/orders',
      'postgresql://app@db/billing',
      '--listen',
      '127.0.0.1:6432, 6433',
    ]);
    assert.deepEqual(two.urls, ['postgresql://app@db/orders', 'postgresql://app@db/billing']);
    assert.deepEqual(two.listen, [
      { kind: 'tcp', host: '127.0.0.1', port: 6432 },
      { kind: 'tcp', host: '127.0.0.1', port: 6433 },
    ]);
    const sockets = await parseProxyArgs([
      'postgresql://app@db/orders',
      'postgresql://app@db/billing',
      '--listen',
      '/run/a,/run/b',
      '--unix-port',
      '6000',
    ]);
    assert.deepEqual(
      sockets.listen.map((address) => (address.kind === 'unix' ? address.path : '')),
      ['/run/a/.s.PGSQL.6000', '/run/b/.s.PGSQL.6000'],
    );
    // Port 0 is a free port each: tests give it to every target.
    assert.equal(
      (await parseProxyArgs(['postgresql://a@db/x', 'postgresql://a@db/y', '--listen', '0,0'])).listen.length,
      2,
    );
  });

  it('refuses a count of addresses that does not match the targets, and two targets at one place', async () => {
    const two = ['postgresql://app@db/orders', 'postgresql://app@db/billing'];
    await assert.rejects(
      parseProxyArgs(two),
      refused(/^2 targets need one --listen address each\./, /--listen 127\.0\.0\.1:5432,127\.0\.0\.1:5433/),
    );
    await assert.rejects(
      parseProxyArgs([...two, '--listen', '6432']),
      refused(/^--listen names 1 address for 2 targets\./),
    );
    await assert.rejects(
      parseProxyArgs(['--listen', '6432,6433']),
      refused(/^--listen names 2 addresses for 1 target\./),
    );
    await assert.rejects(
      parseProxyArgs([...two, '--listen', '127.0.0.1:6432,6432']),
      refused(/^Two targets cannot both listen on 127\.0\.0\.1:6432\./),
    );
    await assert.rejects(
      parseProxyArgs([...two, '--listen', '/run/pg,/run/pg']),
      refused(/^Two targets cannot both listen on \/run\/pg\/\.s\.PGSQL\.5432\./, /its own folder/),
    );
    await assert.rejects(
      parseProxyArgs([...two, '--listen', '6432,nowhere']),
      refused(/--listen "nowhere" is not HOST:PORT/),
    );
  });

  it('--http-address and --log-format', async () => {
    const parsed = await parseProxyArgs(['--http-address', '0.0.0.0:9801', '--log-format', 'json']);
    assert.deepEqual([parsed.httpAddress, parsed.logFormat], [{ host: '0.0.0.0', port: 9801 }, 'json']);
    const defaults = await parseProxyArgs([]);
    assert.deepEqual([defaults.httpAddress, defaults.logFormat], [undefined, 'text']);
    await assert.rejects(
      parseProxyArgs(['--http-address', '/run/metrics']),
      refused(/^--http-address "\/run\/metrics" is not HOST:PORT or PORT\./),
    );
    await assert.rejects(
      parseProxyArgs(['--log-format', 'xml']),
      refused(/^--log-format must be one of text, json, not "xml"\./),
    );
  });
});
