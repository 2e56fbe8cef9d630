// The standard gRPC interop client cases on @grpc/grpc-js (npm), our own implementation of
// grpc/doc/interop-test-descriptions.md. @grpc/proto-loader reads the protos Debian's
// grpc-proto installs (/usr/share/grpc-proto); nothing is generated.
//
//   node tests/interop/node/grpcjs_interop_client.mjs --server_host=127.0.0.1 \
//       --server_port=10000 --test_case=large_unary [--use_tls --ca_file=ca.pem] \
//       [--server_host_override=NAME] [--rpc_timeout_s=20]
//
// Exit status 0 only when the case passed; on failure one line "FAIL <case>: <reason>".
// --test_case=all runs every case on a fresh channel each.
//
// Limits of this peer: grpc-js compresses per channel ('grpc.default_compression_algorithm'),
// so client_compressed_unary uses a second, gzip channel for the compressed call; and its
// API does not expose the per-message compressed flag, so server_compressed_unary checks
// the call and payload only.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const LARGE_REQUEST = 271828;
const LARGE_RESPONSE = 314159;
const REQUEST_SIZES = [27182, 8, 1828, 45904];
const RESPONSE_SIZES = [31415, 9, 2653, 58979];
const ECHO_INITIAL = ['x-grpc-test-echo-initial', 'test_initial_metadata_value'];
const ECHO_TRAILING = ['x-grpc-test-echo-trailing-bin', Buffer.from([0xab, 0xab, 0xab])];
const SPECIAL_MESSAGE = '\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \u{1f608}\t\n';
const GZIP = 2; // grpc-js compression algorithm enum: 0 identity, 1 deflate, 2 gzip

const CASES = [
  'empty_unary', 'large_unary', 'client_streaming', 'server_streaming', 'ping_pong',
  'empty_stream', 'client_compressed_unary', 'server_compressed_unary', 'cancel_after_begin',
  'cancel_after_first_response', 'timeout_on_sleeping_server', 'custom_metadata',
  'status_code_and_message', 'special_status_message', 'unimplemented_method',
  'unimplemented_service',
];
const CODE_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k]));

class Failure extends Error {}

function expect(cond, reason) {
  if (!cond) throw new Failure(reason);
}

function describe(status) {
  if (!status) return 'no status';
  const name = CODE_NAMES[status.code] ?? String(status.code);
  return status.details ? `${name} ${JSON.stringify(status.details)}` : name;
}

function parseArgs(argv) {
  const known = new Set(['server_host', 'server_port', 'server_host_override', 'test_case',
    'use_tls', 'use_test_ca', 'ca_file', 'rpc_timeout_s', 'proto_dir']);
  const booleans = new Set(['use_tls', 'use_test_ca']);
  const out = {
    server_host: '127.0.0.1', server_port: '10000', server_host_override: '',
    test_case: 'large_unary', use_tls: 'false', ca_file: '', rpc_timeout_s: '20',
    proto_dir: '/usr/share/grpc-proto',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    let [name, value] = a.slice(2).split(/=(.*)/s);
    if (!known.has(name)) throw new Error(`unknown flag --${name}`);
    if (value === undefined) {
      if (booleans.has(name)) value = 'true';
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new Error(`--${name} needs a value`);
    }
    out[name] = value;
  }
  for (const b of booleans) {
    if (out[b] === undefined) continue;
    if (!['true', 'false', '1', '0'].includes(out[b])) throw new Error(`--${b} wants true or false`);
    out[b] = out[b] === 'true' || out[b] === '1';
  }
  out.server_port = Number(out.server_port);
  out.rpc_timeout_s = Number(out.rpc_timeout_s);
  if (!CASES.includes(out.test_case) && out.test_case !== 'all') {
    throw new Error(`unknown test case ${out.test_case}`);
  }
  return out;
}

function loadServices(protoDir) {
  const def = protoLoader.loadSync('grpc/testing/test.proto', {
    includeDirs: [protoDir], keepCase: true, longs: String, enums: String, defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(def).grpc.testing;
}

// Collects what a streaming call delivers: messages in order, initial metadata, then the
// final status (queued after 'end', so no message can arrive after it).
class Inbox {
  constructor(call) {
    this.items = [];
    this.waiters = [];
    this.initial = null;
    this.status = null;
    let ended = false;
    let statusSeen = null;
    const finish = () => {
      if (this.status) return;
      this.status = statusSeen;
      this.push({ status: statusSeen });
    };
    call.on('data', (msg) => this.push({ msg }));
    call.on('metadata', (md) => { this.initial = md; });
    call.on('error', () => {}); // the 'status' event carries it
    call.on('end', () => { ended = true; if (statusSeen) finish(); });
    call.on('status', (s) => {
      statusSeen = s;
      if (ended) finish();
      else setTimeout(finish, 500).unref();
    });
  }

  push(item) {
    const w = this.waiters.shift();
    if (w) w(item);
    else this.items.push(item);
  }

  // The next message ({msg}) or the final status ({status}); rejects after timeoutMs.
  next(timeoutMs) {
    if (this.items.length) return Promise.resolve(this.items.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Failure(`nothing received in ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (item) => { clearTimeout(timer); resolve(item); };
      this.waiters.push(waiter);
    });
  }

  // All remaining messages and the final status.
  async rest(timeoutMs) {
    const msgs = [];
    for (;;) {
      const item = await this.next(timeoutMs);
      if (item.status) return { msgs, status: item.status };
      msgs.push(item.msg);
    }
  }
}

class Cases {
  constructor(opts, services) {
    this.opts = opts;
    this.services = services;
    this.clients = [];
    this.timeoutMs = opts.rpc_timeout_s * 1000;
    this.stub = this.client(services.TestService);
  }

  client(Ctor, extra = {}) {
    const o = this.opts;
    const host = o.server_host.includes(':') ? `[${o.server_host}]` : o.server_host;
    // A fresh connection per client, so one case cannot disturb the next.
    const options = { 'grpc.use_local_subchannel_pool': 1, ...extra };
    let creds;
    if (o.use_tls) {
      creds = grpc.credentials.createSsl(o.ca_file ? fs.readFileSync(o.ca_file) : null);
      if (o.server_host_override) options['grpc.ssl_target_name_override'] = o.server_host_override;
    } else {
      creds = grpc.credentials.createInsecure();
    }
    if (o.server_host_override) options['grpc.default_authority'] = o.server_host_override;
    const c = new Ctor(`${host}:${o.server_port}`, creds, options);
    this.clients.push(c);
    return c;
  }

  close() {
    for (const c of this.clients) c.close();
  }

  callOptions(deadlineMs = this.timeoutMs) {
    return { deadline: new Date(Date.now() + deadlineMs) };
  }

  // A unary call: resolves {err, resp, initial, status} once the status is in.
  unary(client, method, req, md = new grpc.Metadata()) {
    return new Promise((resolve) => {
      let result = {};
      let initial = null;
      const call = client[method](req, md, this.callOptions(), (err, resp) => {
        result = { err, resp };
      });
      call.on('metadata', (m) => { initial = m; });
      call.on('status', (status) => setImmediate(() => resolve({ ...result, initial, status })));
    });
  }

  async ok(client, method, req, md) {
    const r = await this.unary(client, method, req, md);
    expect(!r.err, `${method} failed: ${describe(r.err ?? r.status)}`);
    return r;
  }

  async code(client, method, req, want, what) {
    const r = await this.unary(client, method, req);
    expect(r.status.code === want, `${what}: want ${CODE_NAMES[want]}, got ${describe(r.status)}`);
    return r.status;
  }

  body(payload, size, what) {
    const b = payload?.body ?? Buffer.alloc(0);
    expect(b.length === size, `${what}: payload ${b.length} bytes, want ${size}`);
    expect(b.every((x) => x === 0), `${what}: payload is not all zeros`);
  }

  largeRequest(extra = {}) {
    return { response_size: LARGE_RESPONSE, payload: { body: Buffer.alloc(LARGE_REQUEST) }, ...extra };
  }

  async empty_unary() {
    const r = await this.ok(this.stub, 'EmptyCall', {});
    expect(r.resp != null, 'EmptyCall: no response');
  }

  async large_unary() {
    const r = await this.ok(this.stub, 'UnaryCall', this.largeRequest());
    this.body(r.resp.payload, LARGE_RESPONSE, 'UnaryCall');
  }

  async client_compressed_unary() {
    await this.code(this.stub, 'UnaryCall', this.largeRequest({ expect_compressed: { value: true } }),
      grpc.status.INVALID_ARGUMENT, 'probe (uncompressed, expect_compressed=true)');
    const gzipStub = this.client(this.services.TestService,
      { 'grpc.default_compression_algorithm': GZIP });
    for (const compressed of [true, false]) {
      const what = compressed ? 'compressed UnaryCall' : 'uncompressed UnaryCall';
      const r = await this.unary(compressed ? gzipStub : this.stub, 'UnaryCall',
        this.largeRequest({ expect_compressed: { value: compressed } }));
      expect(!r.err, `${what} failed: ${describe(r.status)}`);
      this.body(r.resp.payload, LARGE_RESPONSE, what);
    }
  }

  async server_compressed_unary() {
    for (const compressed of [true, false]) {
      const what = `UnaryCall (response_compressed=${compressed})`;
      const r = await this.unary(this.stub, 'UnaryCall',
        this.largeRequest({ response_compressed: { value: compressed } }));
      expect(!r.err, `${what} failed: ${describe(r.status)}`);
      this.body(r.resp.payload, LARGE_RESPONSE, what);
    }
  }

  client_streaming() {
    return new Promise((resolve, reject) => {
      let result = {};
      const call = this.stub.StreamingInputCall(new grpc.Metadata(), this.callOptions(),
        (err, resp) => { result = { err, resp }; });
      call.on('status', (status) => setImmediate(() => {
        try {
          expect(!result.err, `StreamingInputCall failed: ${describe(status)}`);
          const n = result.resp.aggregated_payload_size;
          expect(n === 74922, `aggregated_payload_size ${n}, want 74922`);
          resolve();
        } catch (e) { reject(e); }
      }));
      for (const n of REQUEST_SIZES) call.write({ payload: { body: Buffer.alloc(n) } });
      call.end();
    });
  }

  async server_streaming() {
    const call = this.stub.StreamingOutputCall(
      { response_parameters: RESPONSE_SIZES.map((size) => ({ size })) }, this.callOptions());
    const { msgs, status } = await new Inbox(call).rest(this.timeoutMs);
    expect(status.code === grpc.status.OK, `StreamingOutputCall failed: ${describe(status)}`);
    expect(msgs.length === 4, `${msgs.length} responses, want 4`);
    msgs.forEach((m, i) => this.body(m.payload, RESPONSE_SIZES[i], `response ${i}`));
  }

  async ping_pong() {
    const call = this.stub.FullDuplexCall(this.callOptions());
    const inbox = new Inbox(call);
    try {
      for (let i = 0; i < REQUEST_SIZES.length; i++) {
        call.write({
          response_parameters: [{ size: RESPONSE_SIZES[i] }],
          payload: { body: Buffer.alloc(REQUEST_SIZES[i]) },
        });
        const item = await inbox.next(this.timeoutMs);
        expect(item.msg, `FullDuplexCall: no response ${i} (${describe(item.status)})`);
        this.body(item.msg.payload, RESPONSE_SIZES[i], `response ${i}`);
      }
      call.end();
      const { msgs, status } = await inbox.rest(this.timeoutMs);
      expect(msgs.length === 0, 'FullDuplexCall: a fifth response');
      expect(status.code === grpc.status.OK, `FullDuplexCall failed: ${describe(status)}`);
    } finally {
      call.cancel();
    }
  }

  async empty_stream() {
    const call = this.stub.FullDuplexCall(this.callOptions());
    const inbox = new Inbox(call);
    call.end();
    const { msgs, status } = await inbox.rest(this.timeoutMs);
    expect(status.code === grpc.status.OK, `FullDuplexCall failed: ${describe(status)}`);
    expect(msgs.length === 0, 'FullDuplexCall: got a response to no request');
  }

  cancel_after_begin() {
    return new Promise((resolve, reject) => {
      const call = this.stub.StreamingInputCall(new grpc.Metadata(), this.callOptions(), () => {});
      call.on('status', (status) => {
        if (status.code === grpc.status.CANCELLED) resolve();
        else reject(new Failure(`StreamingInputCall: want CANCELLED, got ${describe(status)}`));
      });
      call.cancel();
    });
  }

  async cancel_after_first_response() {
    const call = this.stub.FullDuplexCall(this.callOptions());
    const inbox = new Inbox(call);
    call.write({ response_parameters: [{ size: 31415 }], payload: { body: Buffer.alloc(27182) } });
    const item = await inbox.next(this.timeoutMs);
    expect(item.msg, `FullDuplexCall: no first response (${describe(item.status)})`);
    this.body(item.msg.payload, 31415, 'first response');
    call.cancel();
    const { status } = await inbox.rest(this.timeoutMs);
    expect(status.code === grpc.status.CANCELLED,
      `FullDuplexCall: want CANCELLED, got ${describe(status)}`);
  }

  async timeout_on_sleeping_server() {
    const call = this.stub.FullDuplexCall(this.callOptions(1));
    const inbox = new Inbox(call);
    try {
      call.write({ payload: { body: Buffer.alloc(27182) } });
      const { msgs, status } = await inbox.rest(this.timeoutMs);
      expect(msgs.length === 0, 'FullDuplexCall: got a response');
      expect(status.code === grpc.status.DEADLINE_EXCEEDED,
        `FullDuplexCall: want DEADLINE_EXCEEDED, got ${describe(status)}`);
    } finally {
      call.cancel();
    }
  }

  static echoMetadata() {
    const md = new grpc.Metadata();
    md.add(...ECHO_INITIAL);
    md.add(...ECHO_TRAILING);
    return md;
  }

  static checkEcho(initial, trailing, what) {
    const [ik, iv] = ECHO_INITIAL;
    const got = initial?.get(ik) ?? [];
    expect(got.length > 0, `${what}: no ${ik} in the initial metadata`);
    expect(String(got[0]) === iv, `${what}: ${ik} is ${JSON.stringify(String(got[0]))}`);
    const [tk, tv] = ECHO_TRAILING;
    const gotT = trailing?.get(tk) ?? [];
    expect(gotT.length > 0, `${what}: no ${tk} in the trailing metadata`);
    expect(Buffer.isBuffer(gotT[0]) && gotT[0].equals(tv), `${what}: ${tk} has the wrong value`);
  }

  async custom_metadata() {
    const r = await this.ok(this.stub, 'UnaryCall', this.largeRequest(), Cases.echoMetadata());
    this.body(r.resp.payload, LARGE_RESPONSE, 'UnaryCall');
    Cases.checkEcho(r.initial, r.status.metadata, 'UnaryCall');

    const call = this.stub.FullDuplexCall(Cases.echoMetadata(), this.callOptions());
    const inbox = new Inbox(call);
    call.write({
      response_parameters: [{ size: LARGE_RESPONSE }],
      payload: { body: Buffer.alloc(LARGE_REQUEST) },
    });
    call.end();
    const { msgs, status } = await inbox.rest(this.timeoutMs);
    expect(status.code === grpc.status.OK, `FullDuplexCall failed: ${describe(status)}`);
    expect(msgs.length === 1, `FullDuplexCall: ${msgs.length} responses, want 1`);
    this.body(msgs[0].payload, LARGE_RESPONSE, 'FullDuplexCall');
    Cases.checkEcho(inbox.initial, status.metadata, 'FullDuplexCall');
  }

  async echoStatus(message, duplex) {
    const response_status = { code: 2, message };
    const s = await this.code(this.stub, 'UnaryCall', { response_status }, grpc.status.UNKNOWN,
      'UnaryCall');
    expect(s.details === message, `UnaryCall: message ${JSON.stringify(s.details)}`);
    if (!duplex) return;
    const call = this.stub.FullDuplexCall(this.callOptions());
    const inbox = new Inbox(call);
    call.write({ response_status });
    call.end();
    const { msgs, status } = await inbox.rest(this.timeoutMs);
    expect(msgs.length === 0, 'FullDuplexCall: got a response');
    expect(status.code === grpc.status.UNKNOWN,
      `FullDuplexCall: want UNKNOWN, got ${describe(status)}`);
    expect(status.details === message, `FullDuplexCall: message ${JSON.stringify(status.details)}`);
  }

  status_code_and_message() { return this.echoStatus('test status message', true); }

  special_status_message() { return this.echoStatus(SPECIAL_MESSAGE, false); }

  async unimplemented_method() {
    await this.code(this.stub, 'UnimplementedCall', {}, grpc.status.UNIMPLEMENTED,
      'TestService/UnimplementedCall');
  }

  async unimplemented_service() {
    const stub = this.client(this.services.UnimplementedService);
    await this.code(stub, 'UnimplementedCall', {}, grpc.status.UNIMPLEMENTED,
      'UnimplementedService/UnimplementedCall');
  }
}

async function runCase(opts, services, name) {
  const cases = new Cases(opts, services);
  // Bounded: no case may outlive twice the RPC timeout.
  let timer;
  const overall = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure('case timed out')), 2 * cases.timeoutMs + 1000);
  });
  try {
    await Promise.race([cases[name](), overall]);
    return null;
  } catch (e) {
    return e instanceof Failure ? e.message : `exception: ${e?.stack ?? e}`;
  } finally {
    clearTimeout(timer);
    cases.close();
  }
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`grpcjs_interop_client: ${e.message}`);
    console.error(`cases: all ${CASES.join(' ')}`);
    return 2;
  }
  const services = loadServices(opts.proto_dir);
  const names = opts.test_case === 'all' ? CASES : [opts.test_case];
  let failed = 0;
  for (const name of names) {
    const why = await runCase(opts, services, name);
    if (why === null) {
      console.log(`PASS ${name}`);
    } else {
      failed++;
      console.log(`FAIL ${name}: ${why.replace(/[\r\n]+/g, ' ')}`);
    }
  }
  if (opts.test_case === 'all') console.log(`${names.length - failed}/${names.length} passed`);
  return failed === 0 ? 0 : 1;
}

process.exit(await main());
