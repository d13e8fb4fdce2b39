// Traditional Chinese and English. The choice is remembered; the default follows the browser.
// Terms follow shared/domain/GLOSSARY.md.

const KEY = 'fieldsync.lang';

const zh = {
  'app.title': '渠道通', 'nav.dealers': '經銷商', 'nav.office': '總部看板', 'nav.logout': '登出',
  'lang.switch': 'English',
  'login.title': '以裝置權杖登入', 'login.token': '裝置權杖', 'login.go': '登入',
  'login.help': '請輸入總部核發的裝置權杖，或開啟總部傳來的登入連結。', 'login.failed': '登入失敗',
  'login.offline': '第一次登入需要網路連線。',
  'sync.online': '在線', 'sync.offline': '離線', 'sync.pending': '待同步', 'sync.last': '上次同步',
  'sync.never': '尚未同步', 'sync.retry': '重試', 'sync.syncing': '同步中…', 'sync.error': '同步失敗',
  'sync.rejected': '被伺服器拒絕', 'sync.discard': '放棄本機修改',
  'dealers.title': '我的區域經銷商', 'dealers.search': '搜尋名稱、地址', 'dealers.kind': '類型',
  'dealers.status': '狀態', 'dealers.all': '全部', 'dealers.notVisited': '未拜訪天數 ≥',
  'dealers.none': '沒有符合的經銷商。', 'dealers.count': '家', 'dealers.lastVisit': '上次拜訪',
  'dealers.never': '從未拜訪', 'dealers.today': '今天', 'dealers.daysAgo': '天前', 'dealers.openCommitments': '未完成承諾',
  'dealers.territory': '區域', 'dealers.empty': '尚無資料：連上網路後會自動同步。',
  'kind.distributor': '分銷商', 'kind.retailer': '零售商', 'kind.business_partner': '商業夥伴', 'kind.bank_branch': '支行/網點',
  'status.prospect': '潛在', 'status.active': '合作中', 'status.dormant': '休眠', 'status.terminated': '已終止',
  'dealer.profile': '基本資料', 'dealer.name': '名稱', 'dealer.tier': '等級', 'dealer.address': '地址',
  'dealer.contacts': '聯絡人', 'dealer.brands': '經營品牌', 'dealer.downline': '下線客戶',
  'dealer.core': '核心客戶', 'dealer.visits': '拜訪紀錄', 'dealer.commitments': '未完成承諾',
  'dealer.allCommitments': '承諾', 'dealer.claims': '費用申報', 'dealer.problems': '問題',
  'dealer.recordVisit': '記錄拜訪', 'dealer.edit': '編輯資料', 'dealer.save': '儲存',
  'dealer.addCustomer': '新增下線客戶', 'dealer.conflicts': '同時修改的衝突', 'dealer.none': '無',
  'dealer.back': '← 經銷商列表', 'dealer.notFound': '找不到這家經銷商。',
  'visit.title': '記錄拜訪', 'visit.when': '時間', 'visit.gps': 'GPS 位置', 'visit.locate': '取得目前位置',
  'visit.locating': '定位中…', 'visit.accuracy': '精確度 (公尺)', 'visit.lat': '緯度', 'visit.lon': '經度',
  'visit.manual': '手動輸入', 'visit.gpsFailed': '無法取得位置，請手動輸入。', 'visit.purposes': '拜訪目的',
  'visit.summary': '摘要', 'visit.notes': '備註', 'visit.attendees': '出席人員（以逗號分隔）', 'visit.attendeesShort': '出席',
  'visit.photos': '照片', 'visit.save': '儲存拜訪', 'visit.saved': '已儲存在此裝置',
  'visit.addCommitment': '＋ 承諾', 'visit.addProblem': '＋ 問題', 'visit.addClaim': '＋ 費用申報',
  'visit.photoUpload': '照片於連線時上傳', 'visit.none': '尚無拜訪紀錄',
  'purpose.training': '培訓', 'purpose.product_introduction': '產品介紹', 'purpose.joint_visit': '陪同拜訪',
  'purpose.problem_solving': '問題處理', 'purpose.promotion_planning': '活動規劃', 'purpose.expense_reconciliation': '費用核報',
  'commitment.what': '承諾內容', 'commitment.toWhom': '承諾對象', 'commitment.due': '到期日', 'commitment.owner': '負責人',
  'commitment.kept': '已兌現', 'commitment.broken': '未兌現', 'commitment.overdue': '逾期',
  'cstatus.open': '未完成', 'cstatus.kept': '已兌現', 'cstatus.broken': '未兌現', 'cstatus.cancelled': '已取消',
  'problem.title': '問題標題', 'problem.category': '類別', 'problem.severity': '嚴重程度', 'problem.description': '說明',
  'problem.start': '開始處理', 'problem.resolve': '已解決', 'problem.resolution': '解決方式', 'problem.age': '天數',
  'pcat.dealer': '經銷商', 'pcat.staff': '員工', 'pcat.market': '市場', 'pcat.expense': '費用', 'pcat.competitor': '競爭對手',
  'sev.low': '低', 'sev.medium': '中', 'sev.high': '高', 'sev.critical': '緊急',
  'pstatus.open': '待處理', 'pstatus.in_progress': '處理中', 'pstatus.resolved': '已解決',
  'claim.category': '費用類別', 'claim.purpose': '用途', 'claim.amount': '金額', 'claim.currency': '幣別',
  'ecat.placement': '鋪市費用', 'ecat.salesman_wage': '業務員工資', 'ecat.event': '活動', 'ecat.training': '培訓', 'ecat.other': '其他',
  'claim.requested': '已申請', 'claim.approved': '已批復', 'claim.rejected': '已駁回', 'claim.spent': '已使用', 'claim.reconciled': '已核報',
  'office.title': '總部看板', 'office.territories': '區域與經理', 'office.dealers': '經銷商總表', 'office.visits': '拜訪時間軸',
  'office.commitments': '承諾', 'office.problems': '問題', 'office.claims': '費用流程', 'office.conflicts': '修改衝突',
  'office.overdueOnly': '只看逾期', 'office.managers': '經理', 'office.region': '大區', 'office.total': '共',
  'office.prev': '上一頁', 'office.next': '下一頁', 'office.offline': '總部看板需要網路連線。',
  'office.field': '欄位', 'office.values': '各方數值', 'office.byCategory': '依類別', 'office.byStatus': '依狀態',
  'office.document': '文件', 'office.winner': '目前採用', 'office.other': '另一值', 'office.manager': '經理',
  'office.dealer': '經銷商', 'office.when': '時間', 'office.count': '數量', 'office.amount': '金額',
  'error.invalid': '資料不符規則', 'error.not_found': '找不到', 'error.network': '網路錯誤', 'error.unauthorized': '權杖無效',
  'common.cancel': '取消', 'common.loading': '載入中…',
};

const en = {
  'app.title': 'fieldsync', 'nav.dealers': 'Dealers', 'nav.office': 'Head office', 'nav.logout': 'Log out',
  'lang.switch': '中文',
  'login.title': 'Log in with a device token', 'login.token': 'Device token', 'login.go': 'Log in',
  'login.help': 'Type the device token head office issued, or open the login link they sent.', 'login.failed': 'Login failed',
  'login.offline': 'The first login needs a network connection.',
  'sync.online': 'Online', 'sync.offline': 'Offline', 'sync.pending': 'pending', 'sync.last': 'Last synced',
  'sync.never': 'never synced', 'sync.retry': 'Retry', 'sync.syncing': 'Syncing…', 'sync.error': 'Sync failed',
  'sync.rejected': 'refused by the server', 'sync.discard': 'Discard my changes',
  'dealers.title': 'My territory\'s dealers', 'dealers.search': 'Search name, address', 'dealers.kind': 'Kind',
  'dealers.status': 'Status', 'dealers.all': 'All', 'dealers.notVisited': 'Not visited for ≥ days',
  'dealers.none': 'No dealer matches.', 'dealers.count': 'dealers', 'dealers.lastVisit': 'Last visit',
  'dealers.never': 'never visited', 'dealers.today': 'today', 'dealers.daysAgo': 'days ago', 'dealers.openCommitments': 'open commitments',
  'dealers.territory': 'Territory', 'dealers.empty': 'Nothing here yet: it syncs once there is a network.',
  'kind.distributor': 'Distributor', 'kind.retailer': 'Retailer', 'kind.business_partner': 'Business partner', 'kind.bank_branch': 'Bank branch',
  'status.prospect': 'Prospect', 'status.active': 'Active', 'status.dormant': 'Dormant', 'status.terminated': 'Terminated',
  'dealer.profile': 'Profile', 'dealer.name': 'Name', 'dealer.tier': 'Tier', 'dealer.address': 'Address',
  'dealer.contacts': 'Contacts', 'dealer.brands': 'Brands', 'dealer.downline': 'Downline customers',
  'dealer.core': 'core customer', 'dealer.visits': 'Visit history', 'dealer.commitments': 'Open commitments',
  'dealer.allCommitments': 'Commitments', 'dealer.claims': 'Expense claims', 'dealer.problems': 'Problems',
  'dealer.recordVisit': 'Record a visit', 'dealer.edit': 'Edit profile', 'dealer.save': 'Save',
  'dealer.addCustomer': 'Add downline customer', 'dealer.conflicts': 'Concurrent edits', 'dealer.none': 'None',
  'dealer.back': '← Dealers', 'dealer.notFound': 'No such dealer.',
  'visit.title': 'Record a visit', 'visit.when': 'When', 'visit.gps': 'GPS location', 'visit.locate': 'Use my location',
  'visit.locating': 'Locating…', 'visit.accuracy': 'Accuracy (m)', 'visit.lat': 'Latitude', 'visit.lon': 'Longitude',
  'visit.manual': 'entered by hand', 'visit.gpsFailed': 'No location: enter it by hand.', 'visit.purposes': 'Purposes',
  'visit.summary': 'Summary', 'visit.notes': 'Notes', 'visit.attendees': 'Attendees (comma-separated)', 'visit.attendeesShort': 'Attendees',
  'visit.photos': 'Photos', 'visit.save': 'Save visit', 'visit.saved': 'Saved on this device',
  'visit.addCommitment': '+ Commitment', 'visit.addProblem': '+ Problem', 'visit.addClaim': '+ Expense claim',
  'visit.photoUpload': 'photos upload when online', 'visit.none': 'No visits yet',
  'purpose.training': 'Training', 'purpose.product_introduction': 'Product introduction', 'purpose.joint_visit': 'Joint visit',
  'purpose.problem_solving': 'Problem solving', 'purpose.promotion_planning': 'Promotion planning', 'purpose.expense_reconciliation': 'Expense reconciliation',
  'commitment.what': 'What was promised', 'commitment.toWhom': 'To whom', 'commitment.due': 'Due', 'commitment.owner': 'Owner',
  'commitment.kept': 'Kept', 'commitment.broken': 'Broken', 'commitment.overdue': 'overdue',
  'cstatus.open': 'Open', 'cstatus.kept': 'Kept', 'cstatus.broken': 'Broken', 'cstatus.cancelled': 'Cancelled',
  'problem.title': 'Title', 'problem.category': 'Category', 'problem.severity': 'Severity', 'problem.description': 'Description',
  'problem.start': 'Start work', 'problem.resolve': 'Resolve', 'problem.resolution': 'Resolution', 'problem.age': 'Age (days)',
  'pcat.dealer': 'Dealer', 'pcat.staff': 'Staff', 'pcat.market': 'Market', 'pcat.expense': 'Expense', 'pcat.competitor': 'Competitor',
  'sev.low': 'Low', 'sev.medium': 'Medium', 'sev.high': 'High', 'sev.critical': 'Critical',
  'pstatus.open': 'Open', 'pstatus.in_progress': 'In progress', 'pstatus.resolved': 'Resolved',
  'claim.category': 'Category', 'claim.purpose': 'Purpose', 'claim.amount': 'Amount', 'claim.currency': 'Currency',
  'ecat.placement': 'Shelf-placement fee', 'ecat.salesman_wage': 'Salesman wage subsidy', 'ecat.event': 'Event', 'ecat.training': 'Training', 'ecat.other': 'Other',
  'claim.requested': 'Requested', 'claim.approved': 'Approved', 'claim.rejected': 'Rejected', 'claim.spent': 'Spent', 'claim.reconciled': 'Reconciled',
  'office.title': 'Head office', 'office.territories': 'Territories & managers', 'office.dealers': 'All dealers', 'office.visits': 'Visit timeline',
  'office.commitments': 'Commitments', 'office.problems': 'Problems', 'office.claims': 'Expense pipeline', 'office.conflicts': 'Conflicts',
  'office.overdueOnly': 'Overdue only', 'office.managers': 'Managers', 'office.region': 'Region', 'office.total': 'Total',
  'office.prev': 'Previous', 'office.next': 'Next', 'office.offline': 'The dashboard needs a network connection.',
  'office.field': 'Field', 'office.values': 'Values', 'office.byCategory': 'By category', 'office.byStatus': 'By status',
  'office.document': 'Document', 'office.winner': 'Shown', 'office.other': 'Other value', 'office.manager': 'Manager',
  'office.dealer': 'Dealer', 'office.when': 'When', 'office.count': 'Count', 'office.amount': 'Amount',
  'error.invalid': 'Breaks a rule', 'error.not_found': 'Not found', 'error.network': 'Network error', 'error.unauthorized': 'Token not valid',
  'common.cancel': 'Cancel', 'common.loading': 'Loading…',
};

const dicts = { 'zh-Hant': zh, en };
let current = localStorage.getItem(KEY) ?? defaultLang();

function defaultLang() {
  for (const l of navigator.languages ?? [navigator.language]) {
    if (/^zh/i.test(l)) return 'zh-Hant';
    if (/^en/i.test(l)) return 'en';
  }
  return 'en';
}

export const lang = () => current;

export function setLang(l) {
  current = dicts[l] ? l : 'en';
  localStorage.setItem(KEY, current);
  document.documentElement.lang = current;
}

export function t(key, fallback) {
  return dicts[current][key] ?? en[key] ?? fallback ?? key;
}

document.documentElement.lang = current;
