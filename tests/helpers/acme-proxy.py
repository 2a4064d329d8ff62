#!/usr/bin/env python3
"""acme-proxy.py: a fault-injecting ACME proxy in front of Pebble, for tests.

acme-proxy.py --listen 127.0.0.1:PORT --upstream https://127.0.0.1:PEBBLE_PORT
    --upstream-ca FILE --cert FILE --key FILE [--log FILE]

Serves HTTPS on loopback and forwards every request to Pebble, keeping the
client's Host header: Pebble builds its URLs and checks the JWS "url" from
it, so nothing needs rewriting. On top of Pebble it offers
  - "renewalInfo" in the directory and GET /renewal-info/CERTID (RFC 9773);
  - "meta.profiles" in the directory, and invalidProfile for a newOrder
    whose "profile" is not offered;
  - faults, set by the test, for the Nth matching request or a path pattern;
  - a newOrder forwarded to Pebble alone, no other request beside it
    (class Gate: Pebble 2.4's store deadlock with many clients at once).
Python's standard library only. Control endpoints (same listener, JSON):
  POST /_proxy/faults        list of rules (replaces all rules)
  POST /_proxy/renewal-info  {"default": WINDOW|null, "byCertID": {ID: WINDOW}}
                             WINDOW: {"start", "end", "retryAfter",
                             "explanationURL"}; a number for start or end
                             is seconds from now
  POST /_proxy/profiles      {"name": "description", ...}; {} for none
  POST /_proxy/ari           {"enabled": true|false}: renewalInfo offered
  POST /_proxy/reset         back to the start-up state, log emptied
  GET  /_proxy/log           [{time, method, path, status, payload, fault,
                             peer, forwarded, answered}]
A rule: {"fault": KIND, "path": REGEX, "method": M, "nth": N, "times": T,
"identifier": NAME, "replaces": true|CERTID, ...}. Every condition given
must hold (path is searched in the request path; identifier and replaces
look at a newOrder's payload). Each rule counts the requests it matches and
fires on matches N .. N+T-1 (nth 1, times 1 by default; times -1: forever).
The first rule that fires wins. KINDs and their members:
  status     status, type (urn or short ACME name), detail, retryAfter, body
  paused     429 rateLimited, Let's Encrypt's pause text; identifier, url
  stall      seconds (5): read the request, wait, then go on as usual;
             with "gated": true the wait is inside the gate, as if Pebble
             took that long (the log's "forwarded": when it passed the gate)
  malformed  200 application/json '{"status": '
  ctype      forward, Content-Type replaced by contentType (text/html)
  oversize   bytes (5 MiB): a 200 JSON body that large
  drop       close the connection without an answer
  badcert    pem: forward, the body replaced by it (path ^/certZ/ default)
"""
import argparse
import base64
import http.client
import ipaddress
import json
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NEW_ORDER = "/order-plz"  # Pebble's newOrder path
NEW_NONCE = "/nonce-plz"
ACME = "urn:ietf:params:acme:error:"
KINDS = {"status", "paused", "stall", "malformed", "ctype", "oversize",
         "drop", "badcert"}
DEFAULT_TYPES = {429: "rateLimited", 409: "alreadyReplaced",
                 500: "serverInternal", 503: "serverInternal"}
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
       "date", "server"}


def rfc3339(v):
    """A window bound: a string as given, a number as seconds from now."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + v))
    return v


class State:
    """Everything the tests set, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.rules = []
        self.renewal = {"default": None, "byCertID": {}}
        self.profiles = {}
        self.ari = True
        self.log = []

    def set_rules(self, rules):
        if isinstance(rules, dict):
            rules = [rules]
        if not isinstance(rules, list):
            raise ValueError("a list of rules")
        out = []
        for r in rules:
            if not isinstance(r, dict) or r.get("fault") not in KINDS:
                raise ValueError("unknown fault in %r (one of %s)" %
                                 (r, ", ".join(sorted(KINDS))))
            r = dict(r, seen=0, nth=int(r.get("nth", 1)),
                     times=int(r.get("times", 1)), status=int(r.get("status", 503)),
                     seconds=float(r.get("seconds", 5)),
                     bytes=int(r.get("bytes", 5 * 1024 * 1024)))
            if r["fault"] == "badcert" and "path" not in r:
                r["path"] = "^/certZ/"
            r["re"] = re.compile(r.get("path", ""))
            out.append(r)
        self.rules = out

    def match(self, method, path, payload):
        """The rule that fires for this request, or None; counts matches."""
        fired = None
        for r in self.rules:
            if r.get("method", method).upper() != method or \
                    not r["re"].search(path) or \
                    not order_matches(r, payload if path == NEW_ORDER else None):
                continue
            r["seen"] += 1
            nth, times = r["nth"], r["times"]
            if fired is None and r["seen"] >= nth and \
                    (times < 0 or r["seen"] < nth + times):
                fired = r
        return fired


def order_names(payload):
    """The identifier values of a newOrder payload."""
    ids = payload.get("identifiers") if isinstance(payload, dict) else None
    return [i.get("value") for i in ids if isinstance(i, dict)] \
        if isinstance(ids, list) else []


def order_matches(rule, payload):
    """A rule's identifier and replaces conditions, on a newOrder payload."""
    if "identifier" in rule and rule["identifier"] not in order_names(payload):
        return False
    if "replaces" in rule:
        got = payload.get("replaces") if isinstance(payload, dict) else None
        if got is None or (rule["replaces"] is not True and got != rule["replaces"]):
            return False
    return True


def jws_payload(body):
    """The decoded JSON payload of a flattened JWS, or None."""
    try:
        p = json.loads(body)["payload"]
        if not p:
            return None
        return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    except (ValueError, KeyError, TypeError):
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120

    def log_message(self, fmt, *args):  # the JSON log says it all
        pass

    def do_GET(self):
        self.handle_any()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    # -- plumbing -------------------------------------------------------
    def send(self, status, body=b"", ctype=None, headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, indent=2).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.entry["status"] = status
        self.entry["answered"] = time.time()
        self.write_log()  # before the answer, so a client sees it at once
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def problem(self, status, typ, detail, retry_after=None, nonce=True):
        typ = typ if ":" in typ else ACME + typ
        hdrs = [("Retry-After", retry_after)] if retry_after is not None else []
        if nonce and self.command == "POST":
            n = self.upstream_nonce()
            hdrs += [("Replay-Nonce", n)] if n else []
        self.send(status, {"type": typ, "detail": detail, "status": status},
                  "application/problem+json", hdrs)

    def upstream(self, method, path, body=None, rule=None):
        u = self.server.upstream
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=60,
                                           context=self.server.upstream_ctx)
        hdrs = {"Host": self.headers.get("Host", u.netloc)}
        for k in ("Content-Type", "User-Agent", "Accept", "Accept-Language"):
            if k in self.headers:
                hdrs[k] = self.headers[k]
        alone = method == "POST" and urllib.parse.urlsplit(path).path == NEW_ORDER
        self.server.gate.enter(alone)
        try:
            if rule is not None:  # the request itself, not a nonce for it
                self.entry["forwarded"] = time.time()
                if rule["fault"] == "stall" and rule.get("gated"):
                    time.sleep(rule["seconds"])
            conn.request(method, path, body, hdrs)
            r = conn.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            conn.close()
            self.server.gate.leave(alone)

    def upstream_nonce(self):
        try:
            _, hdrs, _ = self.upstream("HEAD", NEW_NONCE)
            return next((v for k, v in hdrs if k.lower() == "replay-nonce"), None)
        except OSError:
            return None

    # -- the request ----------------------------------------------------
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        path = urllib.parse.urlsplit(self.path).path
        self.entry, self.logged = {"status": None}, False
        if path.startswith("/_proxy/"):
            return self.control(path, body)
        st = self.server.state
        payload = jws_payload(body) if body else None
        with st.lock:
            rule = st.match(self.command, path, payload)
            # "peer": the client's port, one per connection it opened.
            self.entry = {"time": time.time(), "method": self.command,
                          "path": path, "status": None, "payload": payload,
                          "fault": rule["fault"] if rule else None,
                          "peer": self.client_address[1]}
            st.log.append(self.entry)
        try:
            self.respond(path, body, payload, rule)
        except (OSError, ssl.SSLError):
            self.close_connection = True  # the client went away
        finally:
            self.write_log()  # a drop, or the client gone

    def write_log(self):
        if "time" in self.entry and not self.logged:
            self.logged = True
            self.server.write_log(self.entry)

    def respond(self, path, body, payload, rule):
        kind = rule["fault"] if rule else None
        if kind == "stall" and not rule.get("gated"):
            time.sleep(rule["seconds"])
        if kind == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if kind == "status":
            status = rule["status"]
            if "body" in rule:
                b = rule["body"]
                ct = "application/problem+json" if isinstance(b, dict) else \
                    rule.get("contentType", "text/plain")
                hdrs = [("Retry-After", rule["retryAfter"])] \
                    if "retryAfter" in rule else []
                return self.send(status, b, ct, hdrs)
            return self.problem(status, rule.get("type", DEFAULT_TYPES.get(
                status, "malformed")), rule.get("detail", "injected by acme-proxy"),
                rule.get("retryAfter"))
        if kind == "paused":
            name = rule.get("identifier") or \
                (order_names(payload) or ["example.com"])[0]
            url = rule.get("url", "https://portal.example/sfe/v1/unpause?jwt=eyJhbGciOi.x.y")
            return self.problem(429, "rateLimited", "Your account is temporarily "
                                "prevented from requesting certificates for %s and "
                                "possibly others. Please visit: %s" % (name, url),
                                rule.get("retryAfter"))
        if kind == "malformed":
            return self.send(200, '{"status": ', "application/json")
        if kind == "oversize":
            size = rule["bytes"]
            pad = max(size - 12, 0)
            return self.send(200, ('{"pad": "' + "x" * pad + '"}\n')[:size],
                             "application/json")
        if self.synthesized(path, payload):
            return
        try:
            status, hdrs, data = self.upstream(self.command, self.path, body,
                                               rule or {"fault": None})
        except (OSError, http.client.HTTPException) as e:
            return self.problem(502, "serverInternal", "acme-proxy: upstream: %s"
                                % e, nonce=False)
        data = self.amend(path, status, data, payload)
        if kind == "badcert":
            data = rule.get("pem", "").encode()
        out = []
        for k, v in hdrs:
            if k.lower() in HOP or (k.lower() == "content-type" and kind == "ctype"):
                continue
            out.append((k, v))
        if kind == "ctype":
            out.append(("Content-Type", rule.get("contentType", "text/html")))
        self.send(status, data, None, out)

    def synthesized(self, path, payload):
        """Answers Pebble cannot give (renewal info, invalidProfile): True
        when this answered the request."""
        st = self.server.state
        m = re.fullmatch(r"/renewal-info/+([^/]+)", path)
        if m and self.command in ("GET", "HEAD"):
            with st.lock:
                w = st.renewal["byCertID"].get(m.group(1), st.renewal["default"])
                w = w if st.ari else None
            if not w:
                self.problem(404, "malformed", "no renewal information for %s"
                             % m.group(1))
                return True
            doc = {"suggestedWindow": {"start": rfc3339(w.get("start")),
                                       "end": rfc3339(w.get("end"))}}
            if "explanationURL" in w:
                doc["explanationURL"] = w["explanationURL"]
            self.send(200, doc, "application/json",
                      [("Retry-After", w.get("retryAfter", 21600))])
            return True
        if path == NEW_ORDER and self.command == "POST" and isinstance(payload, dict):
            with st.lock:
                offered = dict(st.profiles)
            p = payload.get("profile")
            if p is not None and offered and p not in offered:
                self.problem(400, "invalidProfile", "profile %r is not offered; "
                             "offered: %s" % (p, ", ".join(sorted(offered))))
                return True
        return False

    def amend(self, path, status, data, payload):
        """The directory gets renewalInfo and profiles; an order its profile."""
        st = self.server.state
        if status not in (200, 201):
            return data
        try:
            doc = json.loads(data)
        except ValueError:
            return data
        with st.lock:
            ari, profiles = st.ari, dict(st.profiles)
        if path == "/dir" and isinstance(doc, dict):
            if ari:
                doc["renewalInfo"] = "https://%s/renewal-info" % self.headers.get("Host")
            if profiles:
                doc.setdefault("meta", {})["profiles"] = profiles
        elif path == NEW_ORDER and isinstance(payload, dict) and profiles and \
                isinstance(doc, dict) and "profile" in payload:
            doc["profile"] = payload["profile"]
        else:
            return data
        return json.dumps(doc, indent=3).encode()

    # -- control --------------------------------------------------------
    def control(self, path, body):
        st = self.server.state
        try:
            arg = json.loads(body) if body else None
            if path == "/_proxy/log" and self.command == "GET":
                with st.lock:
                    log = json.dumps(st.log)
                return self.send(200, log, "application/json")
            with st.lock:
                if self.command != "POST":
                    raise LookupError
                if path == "/_proxy/faults":
                    st.set_rules(arg or [])
                elif path == "/_proxy/renewal-info":
                    arg = arg or {}
                    windows = dict(arg.get("byCertID") or {})
                    windows[None] = arg.get("default") or {}
                    if not all(isinstance(w, dict) for w in windows.values()):
                        raise ValueError("renewal-info: windows are objects")
                    st.renewal = {"default": windows.pop(None) or None,
                                  "byCertID": windows}
                elif path == "/_proxy/profiles":
                    if not isinstance(arg or {}, dict):
                        raise ValueError("profiles: an object")
                    st.profiles = dict(arg or {})
                elif path == "/_proxy/ari":
                    st.ari = bool((arg or {}).get("enabled", True))
                elif path == "/_proxy/reset":
                    st.reset()
                else:
                    raise LookupError
            self.send(200, {"ok": True}, "application/json")
        except LookupError:
            self.send(404, {"error": "no such control endpoint"}, "application/json")
        except (ValueError, TypeError, AttributeError, re.error) as e:
            self.send(400, {"error": str(e)}, "application/json")


class Gate:
    """Pebble 2.4's store deadlocks when an authorization is served while a
    newOrder scans the store and a write waits (bench/RESULTS.md, "The
    cycle"); several clients at once (a fleet of workers) can make that
    happen whatever each client does. So a newOrder goes to Pebble alone:
    it waits for the requests being forwarded and holds back new ones
    (writers first, so that newOrders are not starved)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.forwarding = 0
        self.alone = False
        self.waiting = 0

    def enter(self, alone):
        with self.cond:
            if alone:
                self.waiting += 1
                while self.alone or self.forwarding:
                    self.cond.wait()
                self.waiting -= 1
                self.alone = True
            else:
                while self.alone or self.waiting:
                    self.cond.wait()
                self.forwarding += 1

    def leave(self, alone):
        with self.cond:
            if alone:
                self.alone = False
            else:
                self.forwarding -= 1
            self.cond.notify_all()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stalled requests must not hold up the exit

    def __init__(self, args):
        host, _, port = args.listen.rpartition(":")
        host = host.strip("[]")
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            sys.exit("acme-proxy: --listen: want a loopback address:port")
        super().__init__((host, int(port)), Handler)
        self.state = State()
        self.gate = Gate()
        self.upstream = urllib.parse.urlsplit(args.upstream)
        self.upstream_ctx = ssl.create_default_context(cafile=args.upstream_ca)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(args.cert, args.key)
        self.log_path = args.log
        self.log_lock = threading.Lock()

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the request's thread, not the accept loop;
        # no Nagle, or headers and body as two writes wait for a delayed ACK.
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            tls.close()

    def write_log(self, entry):
        if self.log_path:
            with self.log_lock, open(self.log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, help="127.0.0.1:PORT")
    ap.add_argument("--upstream", required=True, help="https://127.0.0.1:PORT")
    ap.add_argument("--upstream-ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", help="append one JSON line per request")
    srv = Server(ap.parse_args())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
