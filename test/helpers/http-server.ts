import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface TestServer {
  url: string;
  port: number;
  requests: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A tiny HTTP server on loopback for tests (port picked by the kernel). */
export async function startHttpServer(
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const state = { requests: 0 };
  const srv: Server = createServer((req, res) => {
    state.requests++;
    if (handler) return handler(req, res);
    req.resume();
    req.on('end', () => {
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  srv.keepAliveTimeout = 1000;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const close = (): Promise<void> =>
    new Promise((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return state.requests;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
