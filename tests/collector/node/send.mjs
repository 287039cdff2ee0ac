// Usage: node send.mjs <traces-url> <service-name> <span-count>
// Sends spans through the real Node.js SDK exporter (OTLP/HTTP protobuf) and exits non-zero on failure.
import { trace, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-node";

const [url, service, countText] = process.argv.slice(2);
const exporter = new OTLPTraceExporter({ url });
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": service }),
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
const tracer = provider.getTracer("node-client", "0.0.1");
for (let i = 0; i < Number(countText); i++) {
  const span = tracer.startSpan(i === 0 ? "/dispatch" : "HTTP GET", {
    kind: i === 0 ? SpanKind.SERVER : SpanKind.CLIENT,
    attributes: { "http.response.status_code": 200, index: i },
  });
  if (i % 5 === 4) span.setStatus({ code: SpanStatusCode.ERROR, message: "boom" });
  span.end();
}
await provider.forceFlush();
await provider.shutdown();
