/**
 * A browser as far as sign-in needs one: a cookie jar per host, redirects followed by hand (so
 * each hop's cookies are kept), and HTML forms submitted by their fields. Paths, expiry and the
 * Secure flag are not modelled; a cookie set with Max-Age=0 is dropped.
 */
export interface BrowserResponse {
	status: number;
	url: string;
	headers: Headers;
	text: string;
}

export function createBrowser() {
	const jar = new Map<string, Map<string, string>>();

	function keep(url: string, headers: Headers) {
		const host = new URL(url).host;
		const cookies = jar.get(host) ?? new Map<string, string>();
		for (const line of headers.getSetCookie()) {
			const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
			const [name = "", ...value] = pair.split("=");
			const expired = attributes.some((a) => /^max-age=0$/i.test(a) || /^expires=thu, 01 jan 1970/i.test(a));
			if (expired) cookies.delete(name);
			else cookies.set(name, value.join("="));
		}
		jar.set(host, cookies);
	}

	async function request(
		url: string,
		init: { method?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {},
	) {
		const cookies = jar.get(new URL(url).host);
		const headers: Record<string, string> = { ...init.headers };
		if (cookies?.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
		if (init.form) headers["content-type"] = "application/x-www-form-urlencoded";
		if (init.json !== undefined) headers["content-type"] = "application/json";
		const response = await fetch(url, {
			method: init.method ?? (init.form || init.json !== undefined ? "POST" : "GET"),
			headers,
			body: init.form
				? new URLSearchParams(init.form).toString()
				: init.json !== undefined
					? JSON.stringify(init.json)
					: undefined,
			redirect: "manual",
		});
		keep(url, response.headers);
		return { status: response.status, url, headers: response.headers, text: await response.text() };
	}

	/**
	 * Requests `url` and follows redirects; returns the first answer that is not a redirect, or the
	 * redirect whose target `onRedirect` answers `false` for (not followed).
	 */
	async function visit(
		url: string,
		init: Parameters<typeof request>[1] = {},
		onRedirect?: (to: string) => boolean | undefined,
	): Promise<BrowserResponse> {
		let response = await request(url, init);
		for (let hop = 0; hop < 20 && response.status >= 300 && response.status < 400; hop++) {
			const to = new URL(response.headers.get("location")!, response.url).href;
			if (onRedirect?.(to) === false) return response;
			response = await request(to);
		}
		return response;
	}

	return {
		request,
		visit,
		/** Submits the page's form with these fields (hidden inputs of the form included). */
		async submit(
			page: BrowserResponse,
			fields: Record<string, string>,
			onRedirect?: (to: string) => boolean | undefined,
		) {
			const action = /<form[^>]*action="([^"]+)"/.exec(page.text)?.[1];
			if (!action) throw new Error(`no form on ${page.url}:\n${page.text.slice(0, 500)}`);
			const hidden = Object.fromEntries(
				[...page.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
			);
			return visit(
				new URL(action.replaceAll("&amp;", "&"), page.url).href,
				{ form: { ...hidden, ...fields } },
				onRedirect,
			);
		},
		cookie: (url: string, name: string) => jar.get(new URL(url).host)?.get(name),
		setCookies: (url: string, cookies: Map<string, string>) => jar.set(new URL(url).host, new Map(cookies)),
		cookies: (url: string) => new Map(jar.get(new URL(url).host) ?? []),
	};
}
