import net from "node:net";

/**
 * A TCP proxy to a real service, so a test can make that service vanish for the code under test
 * (stop) without stopping the server other test files share.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
	const sockets = new Set<net.Socket>();
	const server = net.createServer((client) => {
		const upstream = net.connect(target.port, target.host);
		sockets.add(client).add(upstream);
		client.pipe(upstream).pipe(client);
		const close = () => {
			client.destroy();
			upstream.destroy();
		};
		client.on("error", close).on("close", close);
		upstream.on("error", close).on("close", close);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as net.AddressInfo;
	return {
		port,
		/** Drops every connection and refuses new ones. */
		async stop() {
			for (const socket of sockets) socket.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
