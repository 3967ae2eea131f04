import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { shot } from './helpers';

// Someone presents a card that is not theirs. A third desk (its own bridge and data directory)
// reads the virtual CCCD on the shared reader after the main desk's test hook has handed over a
// card whose chip photo is another person (LFW Abdullah Gul), while the camera films Hans Blix
// really turning his head: liveness passes, the 1:1 comparison does not, and the officer is told
// so plainly, with what to do: capture again, or reject the application with the reason.
const main = Number(process.env.E2E_PORT ?? 35117);
const port = main + 2;
test.use({ baseURL: `http://127.0.0.1:${port}` });
const lfw = '../shared/testdata/faces/lfw';

async function handOver(request: APIRequestContext, face: string): Promise<void> {
  const r = await request.post(`http://127.0.0.1:${main}/api/test/card`, { data: { face } });
  expect(r.status(), await r.text()).toBe(200);
}

test.afterAll(async ({ request }) => {
  // The holder's own card goes back on the reader for the files that follow.
  await handOver(request, `${lfw}/Hans_Blix/Hans_Blix_0009.jpg`);
});
test.describe.configure({ mode: 'serial' });


test('a live face that is not the chip photo\'s: "does not match", capture again or reject', async ({ page, request }) => {
  test.setTimeout(300_000);
  await handOver(request, `${lfw}/Abdullah_Gul/Abdullah_Gul_0001.jpg`);
  await page.goto('/');
  await page.locator('#passphrase').fill('mật khẩu bàn thứ ba');
  await page.locator('#passphrase2').fill('mật khẩu bàn thứ ba');
  await page.locator('#supervisorId').fill('gs.cuong');
  await page.locator('#supervisorName').fill('Phạm Văn Cường');
  await page.locator('#pin').fill('975310');
  await page.locator('#pin2').fill('975310');
  await page.keyboard.press('Enter');
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
  await page.locator('#officerId').fill('gs.cuong');
  await page.locator('#pin').fill('975310');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Tiếp nhận công dân mới' }).click();
  await page.locator('#can').fill('482915');
  await page.keyboard.press('Enter');
  await expect(page.locator('#verdict')).toHaveText('Thẻ thật: chữ ký số trên chip hợp lệ và dữ liệu không bị sửa đổi.', {
    timeout: 30_000,
  });
  await page.locator('#card-next').click();

  await page.locator('#capture-face').click();
  await expect(page.locator('#liveness-steps li')).toHaveCount(4);
  await expect(page.locator('#face-verdict')).toHaveText('Khuôn mặt không khớp với ảnh trên chip. Chụp lại hoặc từ chối hồ sơ.', {
    timeout: 150_000,
  });
  // A live person (the challenge passed): the mismatch is not a photo held up.
  await expect(page.locator('#face-liveness')).toHaveText('Người thật: công dân đã quay đầu theo yêu cầu.');
  const text = (await page.locator('#face-score').textContent()) ?? '';
  const m = /^Khoảng cách tới ảnh trên chip: (\d+\.\d{3}) \(khớp khi dưới (\d+\.\d{3})\)$/.exec(text);
  expect(m, text).not.toBeNull();
  expect(Number(m?.[1])).toBeGreaterThan(Number(m?.[2]));
  await expect(page.locator('#face-help')).toContainText('người đến có thể không phải chủ thẻ');
  await expect(page.locator('#capture-face')).toHaveText('Chụp lại');
  await expect(page.locator('#capture-face')).toBeEnabled();
  await shot(page, 'face-mismatch');

  // The one-click rejection with the matching reason (the audit log records it).
  await page.locator('#reject-face').click();
  await expect(page.locator('#done-message')).toHaveText('Đã từ chối hồ sơ. Lý do: Khuôn mặt không khớp.');
  await page.getByRole('button', { name: 'Về trang chính' }).click();
  await page.locator('#logout').click();
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
});
