import rule from "../src/rules/no-websocket-accept-in-durable-object.js";
import { ruleTester } from "./rule-tester.ts";

ruleTester.run("no-websocket-accept-in-durable-object", rule, {
  valid: [
    {
      name: "allows the hibernation API: ctx.acceptWebSocket and webSocketMessage",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class ChatRoom extends DurableObject<Env> {
          async fetch() {
            const { 0: client, 1: server } = new WebSocketPair();
            this.ctx.acceptWebSocket(server, ["member"]);
            return new Response(null, { status: 101, webSocket: client });
          }
          async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
            for (const peer of this.ctx.getWebSockets()) peer.send(message);
          }
        }`,
    },
    {
      name: "allows a client-side socket in a test or Worker to call accept()",
      code: `
        const response = await env.ROOM.getByName("a").fetch(url, { headers: { Upgrade: "websocket" } });
        const socket = response.webSocket!;
        socket.accept();
        socket.addEventListener("message", (event) => messages.push(event.data));`,
    },
    {
      name: "allows abort listeners, which are not socket events",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Job extends DurableObject { run(signal: AbortSignal) { signal.addEventListener("abort", () => this.stop()); } }`,
    },
  ],
  invalid: [
    {
      name: "reports the classic chat-room example: server.accept() and a message listener",
      code: `
        export class ChatRoom {
          constructor(state: DurableObjectState, env: Env) { this.sessions = []; }
          async fetch(request: Request) {
            const pair = new WebSocketPair();
            const server = pair[1];
            server.accept();
            server.addEventListener("message", (msg) => this.broadcast(msg.data));
            server.addEventListener("close", () => this.leave(server));
            return new Response(null, { status: 101, webSocket: pair[0] });
          }
        }`,
      errors: [
        { messageId: "accept", data: { code: "server.accept()" } },
        { messageId: "listener", data: { code: 'server.addEventListener("message")' } },
        { messageId: "listener", data: { code: 'server.addEventListener("close")' } },
      ],
    },
    {
      name: "reports accept() on a destructured WebSocketPair member",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Feed extends DurableObject {
          async fetch() {
            const [client, server] = Object.values(new WebSocketPair());
            server.accept();
            return new Response(null, { status: 101, webSocket: client });
          }
        }`,
      errors: [{ messageId: "accept" }],
    },
    {
      name: "reports onmessage / onclose handler properties",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Feed extends DurableObject {
          watch(ws: WebSocket) {
            ws.onmessage = (event) => this.handle(event);
            ws.onclose = () => this.drop(ws);
          }
        }`,
      errors: [{ messageId: "listener" }, { messageId: "listener" }],
    },
  ],
});
