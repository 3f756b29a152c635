import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "./fake-slack.ts";

// The benchmark kills a worker with pages posted but unanswered: the fake withholds one client's answers.
let slack: FakeSlack;
beforeAll(async () => {
	slack = await startFakeSlack({ token: "xoxb-test" });
});
afterAll(() => slack.close());

const post = (base: string, channel: string): Promise<Response> =>
	fetch(`${base}chat.postMessage`, {
		method: "POST",
		headers: { authorization: "Bearer xoxb-test", "content-type": "application/json" },
		body: JSON.stringify({ channel, text: "page" }),
	});

describe("fake Slack, one client's answers withheld", () => {
	it("records the held client's posts without answering them, answers other clients and calls, and drops held answers on release", async () => {
		const answered = await post(slack.urlFor("worker-2"), "D0ONE");
		expect(await answered.json()).toMatchObject({ ok: true, channel: "D0ONE" });

		slack.holdAnswers("worker-1");
		const held = post(slack.urlFor("worker-1"), "D0TWO");
		await slack.expectMessage({ to: "D0TWO" });
		expect(slack.unansweredPosts("worker-1")).toBe(1);
		// Another client is answered meanwhile, and so are the held client's calls other than posts.
		expect(await (await post(slack.url, "D0THREE")).json()).toMatchObject({ ok: true });
		const opened = await fetch(`${slack.urlFor("worker-1")}conversations.open`, {
			method: "POST",
			headers: { authorization: "Bearer xoxb-test", "content-type": "application/json" },
			body: JSON.stringify({ users: "U0ALICE" }),
		});
		expect(await opened.json()).toMatchObject({ ok: true, channel: { id: expect.any(String) } });

		slack.releaseAnswers("worker-1");
		await expect(held).rejects.toThrow();
		expect(slack.unansweredPosts("worker-1")).toBe(1);
		expect(await (await post(slack.urlFor("worker-1"), "D0FOUR")).json()).toMatchObject({ ok: true });
		expect(slack.unansweredPosts("worker-1")).toBe(1);
	});
});
