// verify.mjs: checks webhook deliveries with the standardwebhooks package, an implementation
// independent of logeerd's. Reads {"secret": "whsec_...", "deliveries": [{"headers": {...},
// "body": "..."}]} on stdin and prints {"verified": n, "failed": [{"index": i, "error": "..."}]}.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { secret, deliveries } = JSON.parse(input);
// The package takes the secret without its whsec_ prefix, as base64.
const wh = new Webhook(secret.replace(/^whsec_/, ""));
let verified = 0;
const failed = [];
deliveries.forEach((d, index) => {
  try {
    wh.verify(d.body, d.headers);
    verified++;
  } catch (e) {
    failed.push({ index, error: String(e && e.message ? e.message : e) });
  }
});
process.stdout.write(JSON.stringify({ verified, failed }) + "\n");
