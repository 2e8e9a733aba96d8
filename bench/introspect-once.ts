// Times one run of the SDK's introspector on a module's src/ (what every `dagger call` pays to load a module).
import { introspectModule } from "../test/registration/introspect.js";

const [srcDir = "src", name = "dockyard"] = process.argv.slice(2);
const start = performance.now();
await introspectModule(srcDir, name);
console.log(JSON.stringify({ ms: performance.now() - start }));
