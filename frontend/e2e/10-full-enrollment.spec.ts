import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { shot } from './helpers';

// One citizen from card to an approved record that reaches the registry, in the browser against
// the real backend and real peers: the virtual CCCD on pcscd + vpcd (chip photo: Hans Blix), the
// simulated camera (real photos of Hans Blix turning his head, so liveness and the 1:1 match pass
// for real), the R30x sensor simulator on a pty, and the registry service on loopback. The
// registry's listener is taken down (a test hook of the bridge) before the approval, so the
// record waits in the queue while the panel says why in Vietnamese; then it comes back and the
// queue drains.
test.describe.configure({ mode: 'serial' });

const SUP = { id: 'gs.lan', name: 'Nguyễn Thị Lan', pin: '246813', passphrase: 'mật khẩu bàn số một' };
const CARD = { id: '001199012345', name: 'Nguyễn Thị Hương', can: '482915' };
// Face capture = the liveness challenge on the clip, then a burst through the quality gate, then
// the 1:1 comparison; generous for a loaded 2-core machine.
const FACE_TIMEOUT = 150_000;


async function hook(request: APIRequestContext, path: string, data?: unknown): Promise<unknown> {
  const r = await request.post(`/api/test/registry/${path}`, data === undefined ? {} : { data });
  expect(r.status(), await r.text()).toBe(200);
  return r.json();
}

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await page.goto('/');
  await page.locator('#officerId').fill(SUP.id);
  await page.locator('#pin').fill(SUP.pin);
  await page.keyboard.press('Enter');
  await expect(page.locator('h1')).toHaveText('Tiếp nhận hồ sơ');
});

test.afterAll(async () => {
  await page.locator('#logout').click();
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
  await page.close();
});

test('the desk is registered with the registry and unlocked for signing', async ({ request }) => {
  // What `enrolldesk register` does at an office, done by the bridge against its registry.
  await hook(request, 'register', { passphrase: SUP.passphrase });
  await page.locator('#unlock-passphrase').fill('sai mật khẩu bàn');
  await page.getByRole('button', { name: 'Mở khóa bàn' }).click();
  await expect(page.locator('#unlock-form .form-error')).toHaveText('Mật khẩu bàn không đúng.');
  await page.locator('#unlock-passphrase').fill(SUP.passphrase);
  await page.getByRole('button', { name: 'Mở khóa bàn' }).click();
  await expect(page.locator('#unlocked')).toHaveText('Bàn đã mở khóa: có thể ký duyệt hồ sơ.');
  await page.locator('nav [data-view="queue"]').click();
  await expect(page.locator('#q-queued')).toContainText('0');
  await expect(page.locator('#q-not-uploading')).toHaveCount(0);
  await page.locator('nav [data-view="home"]').click();
});

test('1 card: the typed CAN opens the chip; data, photo and verdict are shown', async () => {
  await page.getByRole('button', { name: 'Tiếp nhận công dân mới' }).click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'card');
  await page.locator('#can').fill(CARD.can);
  await page.keyboard.press('Enter');
  await expect(page.locator('#verdict')).toHaveText('Thẻ thật: chữ ký số trên chip hợp lệ và dữ liệu không bị sửa đổi.', {
    timeout: 30_000,
  });
  await expect(page.locator('#chip')).toContainText(CARD.name);
  await expect(page.locator('#chip')).toContainText(CARD.id);
  await shot(page, 'full-1-card');
  await page.locator('#card-next').click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'face');
});

test('2 face: the liveness challenge is prompted, the face is captured and matched to the chip photo', async () => {
  await page.locator('#capture-face').click();
  // While the camera captures, the citizen is told what to do, in order.
  const steps = page.locator('#liveness-steps li');
  await expect(steps).toHaveText(['Nhìn thẳng vào camera', 'Quay đầu sang trái', 'Quay đầu sang phải', 'Nhìn thẳng lại để chụp ảnh']);
  await expect(page.locator('#capture-face')).toBeDisabled();
  await shot(page, 'full-2-face-liveness');
  await expect(page.locator('#face-verdict')).toHaveText('Khuôn mặt khớp với ảnh trên chip.', { timeout: FACE_TIMEOUT });
  await expect(page.locator('#face-live')).toHaveCount(0);
  await expect(page.locator('#face-liveness')).toHaveText('Người thật: công dân đã quay đầu theo yêu cầu.');
  // The score is a distance below the match threshold.
  const text = (await page.locator('#face-score').textContent()) ?? '';
  const m = /^Khoảng cách tới ảnh trên chip: (\d+\.\d{3}) \(khớp khi dưới (\d+\.\d{3})\)$/.exec(text);
  expect(m, text).not.toBeNull();
  expect(Number(m?.[1])).toBeLessThan(Number(m?.[2]));
  // The captured token portrait beside the chip photo.
  const width = await page.locator('#face-portrait').evaluate((img) => (img as HTMLImageElement).naturalWidth);
  expect(width).toBeGreaterThan(100);
  await shot(page, 'full-3-face-match');
  // Enter on the focused "next" button goes on.
  await expect(page.locator('#face-next')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'fingers');
});

test('3 fingers: both index fingers are captured on the sensor with their quality', async () => {
  for (const [pos, name] of [
    [2, 'ngón trỏ phải'],
    [7, 'ngón trỏ trái'],
  ] as const) {
    await page.locator(`[data-finger="${pos}"]`).getByRole('button', { name: 'Lấy vân tay' }).click();
    await expect(page.locator('#finger-prompt')).toContainText(`Đặt ${name} lên máy quét`);
    await expect(page.locator(`[data-finger="${pos}"] .finger-status`)).toHaveText(/^Chất lượng \d+\/100$/, { timeout: 90_000 });
  }
  await expect(page.locator('#wizard-error')).toHaveText('');
  await shot(page, 'full-4-fingers');
  // Done: the de-duplication search runs against the desk's galleries.
  await page.locator('#fingers-done').click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'form', { timeout: 30_000 });
});

test('4 form: the level-02 application with consent', async () => {
  await page.locator('#mobile').fill('0912 345 678');
  await page.locator('#email').fill('huong@example.vn');
  await page.getByLabel('Thẻ bảo hiểm y tế').check();
  await page.locator('#consent').check();
  await shot(page, 'full-5-form');
  await page.getByRole('button', { name: 'Lưu đơn và xem lại' }).click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'review');
});

test('5 review: nothing blocks; a wrong PIN is refused; the officer PIN signs the record', async ({ request }) => {
  await expect(page.locator('#problems')).toHaveText('Hồ sơ đã đủ điều kiện để duyệt.');
  const review = page.locator('#review-step');
  await expect(review).toContainText(CARD.name);
  await expect(review).toContainText('Khuôn mặt khớp với ảnh trên chip.');
  await expect(review).toContainText('0912 345 678');
  // Both faces side by side: the chip photo and the captured portrait.
  await expect(page.locator('#review-portrait')).toBeVisible();
  // The 1:N search ran against the desk's (empty) galleries.
  await expect(page.locator('#review-dedup')).toContainText('Không trùng: đây là hồ sơ đầu tiên của bàn.');
  await shot(page, 'full-6-review');
  await page.locator('#approve-pin').fill('000000');
  await page.getByRole('button', { name: 'Duyệt và ký' }).click();
  await expect(page.locator('#wizard-error')).toHaveText('Mã cán bộ hoặc mã PIN không đúng.');
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'review');
  // The registry goes down before the approval: the record must wait in the queue.
  await hook(request, 'stop');
  await page.locator('#approve-pin').fill(SUP.pin);
  await page.getByRole('button', { name: 'Duyệt và ký' }).click();
  await expect(page.locator('#done-message')).toHaveText('Đã duyệt và ký hồ sơ số 1. Hồ sơ đã vào hàng đợi đồng bộ.', { timeout: 30_000 });
  await shot(page, 'full-7-approved');
});

test('queue during the outage: the record waits and the panel says why, in Vietnamese', async () => {
  await page.getByRole('button', { name: 'Về trang chính' }).click();
  await page.locator('nav [data-view="queue"]').click();
  await expect(page.locator('#q-queued')).toContainText('1');
  await expect(page.locator('#q-problem')).toHaveText(
    'Không kết nối được máy chủ đăng ký trung ương (mất mạng hoặc máy chủ đang gián đoạn). Hồ sơ vẫn được lưu an toàn tại bàn và sẽ tự gửi lại khi kết nối trở lại.',
    { timeout: 30_000 },
  );
  // The raw network error is kept for the technician, out of the officer's way.
  await expect(page.locator('#q-error details')).toContainText('connection refused');
  await shot(page, 'full-8-queue-outage');
});

test('queue after recovery: "send now" drains it and the registry holds the record', async ({ request }) => {
  await hook(request, 'start');
  await page.locator('#sync-now').click();
  await expect(page.locator('#q-queued')).toContainText('0', { timeout: 60_000 });
  await expect(page.locator('#q-acked')).toContainText('1');
  await expect(page.locator('#q-problem')).toHaveCount(0);
  await expect(page.locator('#q-done')).toHaveText('Tất cả hồ sơ đã được cơ quan trung ương nhận.');
  await expect(page.locator('#q-last')).toContainText('Đồng bộ thành công lần cuối:');
  const st = (await (await request.get('/api/test/registry')).json()) as { running: boolean; head?: number };
  expect(st).toMatchObject({ running: true, head: 1 });
  await shot(page, 'full-9-queue-synced');
});

test('local history: the approved record is found by ID number', async () => {
  await page.locator('nav [data-view="history"]').click();
  await page.locator('#h-id').fill(CARD.id);
  await page.getByRole('button', { name: 'Tìm kiếm' }).click();
  const rows = page.locator('#history-results table.history tr');
  await expect(rows).toHaveCount(2); // header + the record
  await expect(rows.nth(1)).toContainText(CARD.name);
  await expect(rows.nth(1)).toContainText(SUP.id);
  await expect(rows.nth(1)).toContainText('Khuôn mặt khớp với ảnh trên chip.');
  await expect(rows.nth(1)).toContainText('Trung ương đã nhận');
  await shot(page, 'full-10-history');
});
