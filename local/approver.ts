/**
 * A person at the approval page, without a browser: fetches the emailed link over real HTTP,
 * reads the page's form and posts it, exactly as the page's buttons do. Uses node:http (not
 * fetch), so the local runtime does not count the request as its own I/O.
 */
import { request } from 'node:http';
import type { LocalRuntime } from './runtime.ts';

export interface Page {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export const http = (url: string, options: { method?: string; body?: string } = {}): Promise<Page> =>
  new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });

const decodeHtml = (text: string) =>
  text.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? '',
  );

/** The hidden fields of the page's approve or reject form. */
export const formFields = (html: string, form: 'approve' | 'reject'): Record<string, string> => {
  const block =
    html.match(new RegExp(`<form method="post" id="${form}-form">([\\s\\S]*?)</form>`))?.[1] ?? '';
  return Object.fromEntries(
    [...block.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [
      m[1],
      decodeHtml(m[2] ?? ''),
    ]),
  );
};

/** The approve and reject links emailed (through SNS) to `approver` for `releaseId`. */
export const emailedLinks = (runtime: LocalRuntime, releaseId: string, approver: string) => {
  const message = runtime.account.sns.published.find(
    (m) => m.attributes.approver === approver && m.attributes.releaseId === releaseId,
  )?.message;
  return {
    approve: message?.match(/^Approve: (\S+)$/m)?.[1],
    reject: message?.match(/^Reject: +(\S+)$/m)?.[1],
  };
};

/** Opens the link (GET, the confirmation page) and presses one button (POST its form). */
export const decideThroughPage = async (link: string, decision: 'approve' | 'reject', reason?: string) => {
  const page = await http(link);
  const fields = formFields(page.body, decision);
  const url = new URL(link);
  url.search = '';
  const result = await http(url.toString(), {
    method: 'POST',
    body: new URLSearchParams({ ...fields, ...(reason ? { reason } : {}) }).toString(),
  });
  return { page, result };
};
