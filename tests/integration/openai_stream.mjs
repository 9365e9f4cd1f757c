// The official OpenAI client against the appliance: one streaming and one plain chat completion.
// Prints the streamed text (deltas joined), a separator line, then the plain completion's text.
// Usage: node openai_stream.mjs BASE_URL API_KEY   (NODE_PATH must reach the `openai` package)
import { createRequire } from "node:module";
const require = createRequire(process.env.NODE_PATH + "/");
const OpenAI = require("openai");

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20000 });
let text = "";
const stream = await client.chat.completions.create({
  model: "clinical-7b", stream: true, messages: [{ role: "user", content: "summarise the note" }],
});
for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
console.log(text);
console.log("----");
const plain = await client.chat.completions.create({
  model: "clinical-7b", messages: [{ role: "user", content: "summarise the note" }],
});
console.log(plain.choices[0].message.content);
