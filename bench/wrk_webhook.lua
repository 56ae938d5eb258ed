-- wrk script: POST a signed GitHub webhook, with a different X-GitHub-Delivery on every request.
--
-- Configured through the environment (bench/loadgen.py sets these):
--   BENCH_BODY_FILE   path of the raw JSON body (sent byte for byte: the signature covers these bytes)
--   BENCH_SIGNATURE   its X-Hub-Signature-256 value ("sha256=<hex>"); fixed, since the body is fixed
--   BENCH_EVENT       X-GitHub-Event (default "pull_request")
--   BENCH_HOOK_ID     X-GitHub-Hook-ID (default "1")
--   BENCH_RUN_ID      8 hex digits, different for every wrk run, so delivery ids never repeat
--   BENCH_PATH        request path (default "/webhook/github")
--
-- Delivery ids look like GitHub's (UUID-shaped): <run id>-<thread>-4000-8000-<counter>.
-- done() prints one line, "BENCH_JSON {...}", with the counts and latency percentiles in microseconds.

local body_file = os.getenv("BENCH_BODY_FILE")
local signature = os.getenv("BENCH_SIGNATURE")
local event = os.getenv("BENCH_EVENT") or "pull_request"
local hook_id = os.getenv("BENCH_HOOK_ID") or "1"
local run_id = os.getenv("BENCH_RUN_ID") or "00000000"
local path = os.getenv("BENCH_PATH") or "/webhook/github"

local threads = {}
local body = nil
local counter = 0
local prefix = nil

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

function init(args)
   assert(body_file, "BENCH_BODY_FILE is not set")
   assert(signature, "BENCH_SIGNATURE is not set")
   local f = assert(io.open(body_file, "rb"))
   body = f:read("*a")
   f:close()
   prefix = string.format("%s-%04x-4000-8000-", run_id, thread_number)
end

local headers = {
   ["Content-Type"] = "application/json",
   ["User-Agent"] = "GitHub-Hookshot/bench",
   ["X-GitHub-Event"] = event,
   ["X-GitHub-Hook-ID"] = hook_id,
   ["X-GitHub-Hook-Installation-Target-Type"] = "integration",
   ["X-GitHub-Hook-Installation-Target-ID"] = "1",
}

function request()
   counter = counter + 1
   headers["X-Hub-Signature-256"] = signature
   headers["X-GitHub-Delivery"] = string.format("%s%012x", prefix, counter)
   return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
