// Times bench/tags.ts's requests in a fresh process, as every function call is; auth is learnt first, as during
// the build. Prints {"ms": ...}.
import { RegistrySession } from "../src/registry/http.js";
import { sendTags } from "./tags.js";

const [hosts = "", repository = "", digest = "", username = "", password = ""] = process.argv.slice(2);
const sessions = hosts
  .split(",")
  .map((host) => new RegistrySession({ host, plainHttp: true, credentials: { username, password } }));
await Promise.all(sessions.map((s) => s.prepare(repository)));
const start = performance.now();
await sendTags(sessions, repository, digest);
console.log(JSON.stringify({ ms: performance.now() - start }));
