// Every string the officer reads, in Vietnamese (the default) and English. The English table is
// typed against the Vietnamese one, so a key missing in either language fails the type check.
// Placeholders are {name}; dates are always dd/mm/yyyy (see format.ts).

export type Lang = 'vi' | 'en';
export const LANGS: readonly Lang[] = ['vi', 'en'];
export const DEFAULT_LANG: Lang = 'vi';

const vi = {
  'app.title': 'Bàn tiếp nhận định danh điện tử',
  'app.subtitle': 'Cấp tài khoản định danh điện tử mức độ 2',
  'lang.label': 'Ngôn ngữ',
  'lang.vi': 'Tiếng Việt',
  'lang.en': 'English',
  'common.loading': 'Đang tải…',
  'common.cancel': 'Hủy',
  'common.back': 'Quay lại',
  'common.next': 'Tiếp tục',
  'common.retry': 'Thử lại',
  'common.yes': 'Có',
  'common.no': 'Không',
  'common.none': 'Không có',

  'login.heading': 'Đăng nhập',
  'login.officerId': 'Mã cán bộ',
  'login.pin': 'Mã PIN',
  'login.submit': 'Đăng nhập',
  'login.hint': 'Nhập mã cán bộ và mã PIN của bạn.',
  'login.desk': 'Bàn làm việc: {desk}',

  'provision.heading': 'Khởi tạo bàn làm việc',
  'provision.intro': 'Bàn làm việc này chưa được khởi tạo. Đặt mật khẩu bàn và tạo tài khoản cán bộ giám sát đầu tiên.',
  'provision.passphrase': 'Mật khẩu bàn (ít nhất 12 ký tự)',
  'provision.passphrase2': 'Nhập lại mật khẩu bàn',
  'provision.supervisorId': 'Mã cán bộ giám sát',
  'provision.supervisorName': 'Họ và tên',
  'provision.pin': 'Mã PIN (6–12 chữ số)',
  'provision.pin2': 'Nhập lại mã PIN',
  'provision.submit': 'Khởi tạo',
  'provision.working': 'Đang tạo khóa của bàn…',

  'home.heading': 'Tiếp nhận hồ sơ',
  'home.welcome': 'Xin chào, {name}',
  'home.empty': 'Chưa có hồ sơ nào được tiếp nhận hôm nay.',
  'home.start': 'Tiếp nhận công dân mới',
  'home.today': 'Hôm nay: {date}',
  'home.logout': 'Đăng xuất',
  'role.officer': 'Cán bộ tiếp nhận',
  'role.supervisor': 'Cán bộ giám sát',

  'error.wrong_pin': 'Mã cán bộ hoặc mã PIN không đúng.',
  'error.locked': 'Tài khoản tạm khóa do nhập sai mã PIN nhiều lần. Thử lại lúc {time} ngày {date}.',
  'error.unauthorized': 'Phiên làm việc đã kết thúc. Vui lòng đăng nhập lại.',
  'error.forbidden': 'Tài khoản của bạn không có quyền thực hiện thao tác này.',
  'error.not_provisioned': 'Bàn làm việc chưa được khởi tạo.',
  'error.already_provisioned': 'Bàn làm việc đã được khởi tạo trước đó.',
  'error.device_missing': 'Không tìm thấy thiết bị. Kiểm tra cáp kết nối rồi bấm Thử lại.',
  'error.unavailable': 'Chức năng này chưa có trong phiên bản hiện tại.',
  'error.conflict': 'Thao tác không đúng bước. Vui lòng làm lại từ đầu.',
  'error.internal': 'Đã xảy ra lỗi. Vui lòng thử lại; nếu vẫn lỗi, báo cho cán bộ kỹ thuật.',
  'error.unreachable': 'Không kết nối được với ứng dụng. Vui lòng thử lại.',
  'error.invalid': 'Thông tin chưa hợp lệ.',

  'field.required': 'Trường này là bắt buộc.',
  'field.passphraseShort': 'Mật khẩu bàn phải có ít nhất 12 ký tự.',
  'field.passphraseMismatch': 'Hai mật khẩu không khớp.',
  'field.officerId': 'Mã cán bộ gồm 2–32 ký tự: chữ, số, dấu chấm, gạch dưới hoặc gạch ngang.',
  'field.name': 'Họ và tên gồm 2–80 ký tự.',
  'field.pin': 'Mã PIN gồm 6–12 chữ số.',
  'field.pinMismatch': 'Hai mã PIN không khớp.',
} as const;

export type Key = keyof typeof vi;

const en: Record<Key, string> = {
  'app.title': 'Electronic identity enrollment desk',
  'app.subtitle': 'Issuing level-2 electronic identity accounts',
  'lang.label': 'Language',
  'lang.vi': 'Tiếng Việt',
  'lang.en': 'English',
  'common.loading': 'Loading…',
  'common.cancel': 'Cancel',
  'common.back': 'Back',
  'common.next': 'Continue',
  'common.retry': 'Retry',
  'common.yes': 'Yes',
  'common.no': 'No',
  'common.none': 'None',

  'login.heading': 'Log in',
  'login.officerId': 'Officer ID',
  'login.pin': 'PIN',
  'login.submit': 'Log in',
  'login.hint': 'Enter your officer ID and PIN.',
  'login.desk': 'Desk: {desk}',

  'provision.heading': 'Set up this desk',
  'provision.intro': 'This desk has not been set up yet. Choose the desk passphrase and create the first supervisor account.',
  'provision.passphrase': 'Desk passphrase (at least 12 characters)',
  'provision.passphrase2': 'Repeat the desk passphrase',
  'provision.supervisorId': 'Supervisor officer ID',
  'provision.supervisorName': 'Full name',
  'provision.pin': 'PIN (6–12 digits)',
  'provision.pin2': 'Repeat the PIN',
  'provision.submit': 'Set up',
  'provision.working': 'Creating the desk keys…',

  'home.heading': 'Enrollment',
  'home.welcome': 'Welcome, {name}',
  'home.empty': 'No citizen has been enrolled today yet.',
  'home.start': 'Enroll a new citizen',
  'home.today': 'Today: {date}',
  'home.logout': 'Log out',
  'role.officer': 'Enrollment officer',
  'role.supervisor': 'Supervisor',

  'error.wrong_pin': 'Wrong officer ID or PIN.',
  'error.locked': 'Account locked after too many wrong PINs. Try again at {time} on {date}.',
  'error.unauthorized': 'Your session has ended. Please log in again.',
  'error.forbidden': 'Your account may not do this.',
  'error.not_provisioned': 'This desk has not been set up yet.',
  'error.already_provisioned': 'This desk has already been set up.',
  'error.device_missing': 'Device not found. Check its cable, then press Retry.',
  'error.unavailable': 'This feature is not available in this version.',
  'error.conflict': 'That step is out of order. Please start again.',
  'error.internal': 'Something went wrong. Please try again; if it persists, call technical support.',
  'error.unreachable': 'Cannot reach the application. Please try again.',
  'error.invalid': 'Some information is not valid.',

  'field.required': 'This field is required.',
  'field.passphraseShort': 'The desk passphrase must have at least 12 characters.',
  'field.passphraseMismatch': 'The two passphrases differ.',
  'field.officerId': 'Officer IDs have 2–32 letters, digits, dots, underscores or hyphens.',
  'field.name': 'Names have 2–80 characters.',
  'field.pin': 'PINs have 6–12 digits.',
  'field.pinMismatch': 'The two PINs differ.',
};

export const TABLES: Record<Lang, Record<Key, string>> = { vi, en };

export function isLang(v: unknown): v is Lang {
  return v === 'vi' || v === 'en';
}

export function isKey(v: string): v is Key {
  return Object.prototype.hasOwnProperty.call(vi, v);
}

/** t returns the string for key in lang with {placeholders} filled from params. */
export function t(lang: Lang, key: Key, params: Record<string, string> = {}): string {
  return TABLES[lang][key].replace(/\{(\w+)\}/g, (m: string, name: string) => params[name] ?? m);
}

/** placeholders lists the {names} a string uses, sorted (for the translation tests). */
export function placeholders(s: string): string[] {
  return [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();
}
