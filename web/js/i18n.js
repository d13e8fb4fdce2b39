// Traditional Chinese and English. The choice is remembered; the default follows the browser.
// Terms follow shared/domain/GLOSSARY.md.

const KEY = 'fieldsync.lang';

const zh = {
  'app.title': '渠道通', 'nav.dealers': '經銷商', 'nav.office': '總部看板', 'nav.logout': '登出',
  'lang.switch': 'English',
  'login.title': '以裝置權杖登入', 'login.token': '裝置權杖', 'login.go': '登入',
  'login.help': '請輸入總部核發的裝置權杖，或開啟總部傳來的登入連結。', 'login.failed': '登入失敗',
  'login.offline': '第一次登入需要網路連線。',
  'login.pinTitle': '輸入登入密碼', 'login.pinHelp': '登入連結需要你自己設定的登入密碼（PIN）。',
  'login.pinNew': '設定登入密碼', 'login.pinNewHelp': '請設定至少 6 個字元的登入密碼（PIN）。之後每個登入連結都需要它，總部也無法代你登入。',
  'login.pin': '登入密碼', 'login.pinAgain': '再輸入一次', 'login.pinMismatch': '兩次輸入的密碼不一樣',
  'login.pinReset': '你的登入密碼已被重設',
  'sync.online': '已連線', 'sync.offline': '離線', 'sync.pending': '筆待同步', 'sync.last': '上次同步',
  'app.screenMissing': '這個畫面還沒有存到這台裝置上，請連上網路後再試一次。', 'sync.never': '尚未同步', 'sync.retry': '重試', 'sync.syncing': '同步中…', 'sync.error': '同步失敗',
  'sync.rejected': '被伺服器拒絕', 'sync.discard': '放棄本機修改', 'sync.discardConfirm': '要放棄這台裝置上對這份資料的修改嗎？放棄後無法復原。',
  'dealers.title': '我的區域經銷商', 'dealers.search': '搜尋名稱、地址', 'dealers.kind': '類型',
  'dealers.status': '狀態', 'dealers.all': '全部', 'dealers.notVisited': '未拜訪天數 ≥',
  'dealers.none': '沒有符合的經銷商。', 'dealers.count': '家', 'dealers.lastVisit': '上次拜訪',
  'dealers.never': '從未拜訪', 'dealers.today': '今天', 'dealers.daysAgo': '天前', 'dealers.openCommitments': '項承諾待兌現',
  'dealers.territory': '區域', 'dealers.empty': '尚無資料：連上網路後會自動同步。',
  'kind.distributor': '分銷商', 'kind.retailer': '零售商', 'kind.business_partner': '商業夥伴', 'kind.bank_branch': '銀行分行',
  'status.prospect': '開發中', 'status.active': '合作中', 'status.dormant': '暫停往來', 'status.terminated': '終止合作',
  'dealer.profile': '基本資料', 'dealer.name': '名稱', 'dealer.tier': '等級', 'dealer.address': '地址',
  'dealer.contacts': '聯絡人', 'dealer.brands': '經營品牌', 'dealer.downline': '下線客戶',
  'dealer.core': '核心客戶', 'dealer.visits': '拜訪紀錄', 'dealer.commitments': '待兌現的承諾',
  'dealer.allCommitments': '承諾', 'dealer.claims': '費用申報', 'dealer.problems': '問題',
  'dealer.recordVisit': '記錄拜訪', 'dealer.edit': '編輯資料', 'dealer.save': '儲存',
  'dealer.addCustomer': '新增下線客戶', 'dealer.conflicts': '同時被修改的欄位', 'dealer.none': '無',
  'dealer.back': '← 經銷商列表', 'dealer.notFound': '找不到這家經銷商。',
  'note.title': '筆記', 'note.add': '新增筆記', 'msales.title': '銷售業績', 'msales.show': '查看與填寫業績',
  'msales.online': '銷售業績存在伺服器上，需要網路連線。', 'msales.offline': '目前離線：連上網路後才能查看業績。',
  'visit.title': '記錄拜訪', 'visit.when': '時間', 'visit.gps': 'GPS 位置', 'visit.locate': '取得目前位置',
  'visit.locating': '定位中…', 'visit.accuracy': '誤差（公尺）', 'visit.lat': '緯度', 'visit.lon': '經度',
  'visit.manual': '手動輸入', 'visit.gpsFailed': '無法取得位置，請手動輸入。', 'visit.purposes': '拜訪目的',
  'visit.summary': '摘要', 'visit.notes': '備註', 'visit.attendees': '出席人員（以逗號分隔）', 'visit.attendeesShort': '出席人員',
  'visit.photos': '照片', 'visit.save': '儲存拜訪', 'visit.saved': '已儲存在這台裝置',
  'visit.addCommitment': '＋ 承諾', 'visit.addProblem': '＋ 問題', 'visit.addClaim': '＋ 費用申報',
  'visit.photoUpload': '連上網路後會上傳照片', 'visit.none': '尚無拜訪紀錄',
  'purpose.training': '教育訓練', 'purpose.product_introduction': '產品介紹', 'purpose.joint_visit': '陪同拜訪',
  'purpose.problem_solving': '問題處理', 'purpose.promotion_planning': '促銷活動規劃', 'purpose.expense_reconciliation': '費用核銷',
  'commitment.what': '承諾內容', 'commitment.toWhom': '承諾對象', 'commitment.due': '到期日', 'commitment.owner': '負責人',
  'commitment.kept': '已兌現', 'commitment.broken': '未兌現', 'commitment.overdue': '逾期',
  'cstatus.open': '待兌現', 'cstatus.kept': '已兌現', 'cstatus.broken': '未兌現', 'cstatus.cancelled': '已取消',
  'problem.title': '問題標題', 'problem.category': '類別', 'problem.severity': '嚴重程度', 'problem.description': '說明',
  'problem.start': '開始處理', 'problem.resolve': '標記為已解決', 'problem.resolution': '解決方式', 'problem.age': '已過天數',
  'pcat.dealer': '經銷商', 'pcat.staff': '員工', 'pcat.market': '市場', 'pcat.expense': '費用', 'pcat.competitor': '競爭對手',
  'sev.low': '低', 'sev.medium': '中', 'sev.high': '高', 'sev.critical': '緊急',
  'pstatus.open': '待處理', 'pstatus.in_progress': '處理中', 'pstatus.resolved': '已解決',
  'claim.category': '費用類別', 'claim.purpose': '用途', 'claim.amount': '金額', 'claim.currency': '幣別',
  'ecat.placement': '上架費', 'ecat.salesman_wage': '業務人員薪資補貼', 'ecat.event': '活動', 'ecat.training': '教育訓練', 'ecat.other': '其他',
  'conflict.status.commitments': '承諾狀態', 'conflict.status.claims': '費用申報狀態', 'conflict.status.activities': '活動狀態',
  'claim.requested': '已申請', 'claim.approved': '已核准', 'claim.rejected': '已駁回', 'claim.spent': '已支用', 'claim.reconciled': '已核銷',
  'error.invalid': '資料不符合規定', 'error.not_found': '找不到資料', 'error.network': '網路錯誤', 'error.unauthorized': '權杖無效，請重新登入',
  'error.storage': '無法儲存在這台裝置上，這筆修改未儲存', 'error.quota': '裝置儲存空間不足，這筆修改未儲存',
  'error.timeout': '連線逾時', 'error.busy': '另一個分頁沒有回應，請確認修改是否已儲存',
  'unsent.warn': '這台裝置上還有尚未上傳的修改或照片', 'unsent.sync': '先同步', 'unsent.keep': '保留在這台裝置，稍後再同步',
  'damaged.title': '無法讀取的資料', 'damaged.refetch': '從伺服器重新下載',
  'undelivered.title': '未送達（你已沒有這個區域的權限）：', 'undelivered.help': '這些修改沒有送到伺服器，仍保留在這台裝置上；請匯出交給總部，權限恢復後也會自動送出。',
  'undelivered.changes': '筆修改', 'undelivered.export': '匯出', 'undelivered.visits': '拜訪', 'undelivered.commitments': '承諾',
  'undelivered.claims': '費用申報', 'undelivered.problems': '問題', 'undelivered.activities': '活動', 'undelivered.dealers': '經銷商', 'storage.full': '裝置儲存空間快滿了，請清理空間，以免資料遺失',
  // Head office's filters, pages, charts and CSV export.
  'akind.promotion': '聯合促銷', 'akind.customer_event': '客戶聯誼會',
  'astatus.planned': '規劃中', 'astatus.held': '已舉辦', 'astatus.cancelled': '已取消',
  'common.cancel': '取消', 'common.loading': '載入中…',
  'update.ready': '新版本已準備好。', 'update.reload': '重新載入以更新',
  // Visit drafts, waiting for a GPS fix, accessible names.
  'draft.saved': '草稿已儲存在這台裝置', 'draft.restored': '已還原上次沒填完的拜訪草稿', 'draft.discard': '捨棄草稿',
  'visit.gpsStop': '停止定位', 'visit.seconds': '秒', 'visit.remove': '移除',
  'visit.gpsDenied': '沒有使用位置的權限，請手動輸入緯度和經度。', 'visit.gpsTimeout': '等候許久仍無法定位，請手動輸入緯度和經度。',
  // Codes → text: record rules (core), sync refusals and schema rules, head office's API errors; confirmations.
  'error.unknown': '發生錯誤', 'error.malformed': '資料格式有誤', 'error.shape': '文件結構有誤', 'error.schema_too_new': '資料來自較新版本，請更新 App',
  'error.wrong_document': '文件與編號不符', 'error.missing_dependencies': '缺少先前的修改，請先同步',
  'error.duplicate': '這筆資料已經存在', 'error.not_editable': '這個欄位不能修改', 'error.bad_record': '資料無法讀取', 'error.unknown_dealer': '找不到這家經銷商',
  'error.unknown_territory': '找不到這個區域', 'error.protocol': '與伺服器的通訊格式不符，請更新 App',
  'error.bad_id': '編號格式有誤', 'error.unknown_term': '選項不在清單中', 'error.forbidden': '你沒有這項權限', 'error.too_large': '資料量太大', 'error.foreign_actor': '這筆修改來自另一台裝置',
  'error.bad_sequence': '修改的順序有誤', 'error.damaged': '伺服器上的這份資料無法讀取', 'error.token_expired': '登入已過期，請重新登入',
  'error.user_disabled': '這個帳號已停用', 'error.conflict': '資料已被其他人修改，請重新整理', 'error.bad_request': '請求內容有誤',
  'error.bad_query': '篩選條件有誤',
  'error.not_an_image': '這不是照片檔', 'error.too_many_requests': '操作太頻繁，請稍後再試',
  'error.photo_quota_exceeded': '今天上傳的照片已達上限', 'error.overloaded': '伺服器忙碌中，稍後會自動重試', 'error.internal': '伺服器發生錯誤',
  'error.unavailable': '伺服器暫時無法使用', 'error.login_code_expired': '登入連結已過期', 'error.login_code_invalid': '登入連結無效',
  'error.login_code_used': '這個登入連結已經用過了', 'error.secret_required': '請輸入登入密碼', 'error.new_secret_required': '請設定登入密碼',
  'error.secret_wrong': '登入密碼不正確', 'error.secret_locked': '密碼錯誤次數太多，請稍後再試或向總部索取新的登入連結',
  'error.secret_too_short': '登入密碼至少要 6 個字元', 'error.secret_too_long': '登入密碼太長', 'rule.immutable': '這個欄位建立後就不能修改',
  'rule.deleted': '資料不能刪除',
  'rule.transition': '狀態不能這樣變更', 'rule.role': '你的職務不能做這項修改', 'rule.self_approval': '不能核准自己的申請',
  'rule.concurrent_write': '別人已同時修改了這筆資料', 'rule.record': '資料不符合規定',
  'invalid.empty': '必填欄位沒有填寫', 'invalid.too_long': '文字太長', 'invalid.money': '金額有誤', 'invalid.tier': '等級必須是 1 到 5',
  'invalid.due_before_creation': '到期日不能早於承諾的日期', 'invalid.ends_before_start': '結束日不能早於開始日', 'invalid.currency_mismatch': '幣別與申報的幣別不同',
  'invalid.resolution_required': '請填寫解決方式', 'invalid.spent_required': '請填寫實際支用金額',
  'status.conflict': '（另一台裝置同時標記為', 'status.conflictEnd': '）',
  'confirm.kept': '確定「{what}」已兌現嗎？標記後無法復原。', 'confirm.broken': '確定「{what}」未兌現嗎？標記後無法復原。',
  'confirm.resolved': '確定「{what}」已解決嗎？標記後無法復原。', 'confirm.reconciled': '確定「{what}」已核銷嗎？核銷後無法復原。',
  'claim.reconcile': '核銷',
  'sync.label': '同步狀態', 'damaged.notApplied': '無法套用',
};

const en = {
  'app.title': 'fieldsync', 'nav.dealers': 'Dealers', 'nav.office': 'Head office', 'nav.logout': 'Log out',
  'lang.switch': '中文',
  'login.title': 'Log in with a device token', 'login.token': 'Device token', 'login.go': 'Log in',
  'login.help': 'Type the device token head office issued, or open the login link they sent.', 'login.failed': 'Login failed',
  'login.offline': 'The first login needs a network connection.',
  'login.pinTitle': 'Enter your login PIN', 'login.pinHelp': 'A login link needs the login PIN you chose.',
  'login.pinNew': 'Choose a login PIN', 'login.pinNewHelp': 'Choose a login PIN of at least 6 characters. Every later login link needs it, so nobody else, head office included, can log in as you.',
  'login.pin': 'Login PIN', 'login.pinAgain': 'Enter it again', 'login.pinMismatch': 'The two PINs differ',
  'login.pinReset': 'Your login PIN was reset by',
  'sync.online': 'Online', 'sync.offline': 'Offline', 'sync.pending': 'pending', 'sync.last': 'Last synced',
  'app.screenMissing': 'This screen is not on this device yet: connect to the network and try again.', 'sync.never': 'never synced', 'sync.retry': 'Retry', 'sync.syncing': 'Syncing…', 'sync.error': 'Sync failed',
  'sync.rejected': 'refused by the server', 'sync.discard': 'Discard my changes', 'sync.discardConfirm': 'Discard the changes this device made to this document? This cannot be undone.',
  'dealers.title': 'My territory\'s dealers', 'dealers.search': 'Search name, address', 'dealers.kind': 'Kind',
  'dealers.status': 'Status', 'dealers.all': 'All', 'dealers.notVisited': 'Not visited for ≥ days',
  'dealers.none': 'No dealer matches.', 'dealers.count': 'dealers', 'dealers.lastVisit': 'Last visit',
  'dealers.never': 'never visited', 'dealers.today': 'today', 'dealers.daysAgo': 'days ago', 'dealers.openCommitments': 'commitments open',
  'dealers.territory': 'Territory', 'dealers.empty': 'Nothing here yet: it syncs once there is a network.',
  'kind.distributor': 'Distributor', 'kind.retailer': 'Retailer', 'kind.business_partner': 'Business partner', 'kind.bank_branch': 'Bank branch',
  'status.prospect': 'Prospect', 'status.active': 'Active', 'status.dormant': 'Dormant', 'status.terminated': 'Terminated',
  'dealer.profile': 'Profile', 'dealer.name': 'Name', 'dealer.tier': 'Tier', 'dealer.address': 'Address',
  'dealer.contacts': 'Contacts', 'dealer.brands': 'Brands', 'dealer.downline': 'Downline customers',
  'dealer.core': 'core customer', 'dealer.visits': 'Visit history', 'dealer.commitments': 'Open commitments',
  'dealer.allCommitments': 'Commitments', 'dealer.claims': 'Expense claims', 'dealer.problems': 'Problems',
  'dealer.recordVisit': 'Record a visit', 'dealer.edit': 'Edit profile', 'dealer.save': 'Save',
  'note.title': 'Notes', 'note.add': 'Add note', 'msales.title': 'Sales',
  'msales.show': 'Show and enter sales', 'msales.online': 'Sales are kept on the server: this needs a connection.',
  'msales.offline': 'Offline: sales show once you are back online.',
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
  'conflict.status.commitments': 'Commitment status', 'conflict.status.claims': 'Claim status', 'conflict.status.activities': 'Activity status',
  'claim.requested': 'Requested', 'claim.approved': 'Approved', 'claim.rejected': 'Rejected', 'claim.spent': 'Spent', 'claim.reconciled': 'Reconciled',
  'error.invalid': 'Breaks a rule', 'error.not_found': 'Not found', 'error.network': 'Network error', 'error.unauthorized': 'Token not valid',
  'error.storage': 'Could not save on this device; the change was not kept', 'error.quota': 'This device is out of storage; the change was not kept',
  'error.timeout': 'Timed out', 'error.busy': 'Another tab did not answer; check whether the change was saved',
  'unsent.warn': 'This device still has changes or photos not sent to the server', 'unsent.sync': 'Sync first', 'unsent.keep': 'Keep them on this device, sync later',
  'damaged.title': 'Unreadable data', 'damaged.refetch': 'Download again from the server',
  'undelivered.title': 'Not delivered (access to this territory was removed):', 'undelivered.help': 'These changes never reached the server and are kept on this device: export them for head office; they are sent by themselves if access comes back.',
  'undelivered.changes': 'changes', 'undelivered.export': 'Export', 'undelivered.visits': 'visits', 'undelivered.commitments': 'commitments',
  'undelivered.claims': 'expense claims', 'undelivered.problems': 'problems', 'undelivered.activities': 'activities', 'undelivered.dealers': 'dealers', 'storage.full': 'This device is almost out of storage: free some space so nothing is lost',
  // Head office's filters, pages, charts and CSV export.
  'akind.promotion': 'Joint promotion', 'akind.customer_event': 'Customer event',
  'astatus.planned': 'Planned', 'astatus.held': 'Held', 'astatus.cancelled': 'Cancelled',
  'common.cancel': 'Cancel', 'common.loading': 'Loading…',
  'update.ready': 'A new version is ready.', 'update.reload': 'Reload to update',
  // Visit drafts, waiting for a GPS fix, accessible names.
  'draft.saved': 'Draft kept on this device', 'draft.restored': 'Restored the visit you had not finished', 'draft.discard': 'Discard draft',
  'visit.gpsStop': 'Stop locating', 'visit.seconds': 's', 'visit.remove': 'Remove',
  'visit.gpsDenied': 'Location permission denied: enter latitude and longitude by hand.', 'visit.gpsTimeout': 'No location found in time: enter latitude and longitude by hand.',
  // Codes → text: record rules (core), sync refusals and schema rules, head office's API errors; confirmations.
  'error.unknown': 'Something went wrong', 'error.malformed': 'The data is malformed', 'error.shape': 'The document has a wrong structure', 'error.schema_too_new': 'The data comes from a newer version: update the app',
  'error.wrong_document': 'The document does not match its id', 'error.missing_dependencies': 'Earlier changes are missing: sync first',
  'error.duplicate': 'This already exists', 'error.not_editable': 'This field cannot be changed', 'error.bad_record': 'The record cannot be read', 'error.unknown_dealer': 'No such dealer',
  'error.unknown_territory': 'No such territory', 'error.protocol': 'The server speaks another protocol: update the app',
  'error.bad_id': 'Malformed id', 'error.unknown_term': 'Not one of the choices', 'error.forbidden': 'You are not allowed to do this', 'error.too_large': 'Too much data', 'error.foreign_actor': 'This change comes from another device',
  'error.bad_sequence': 'The changes are out of order', 'error.damaged': 'The server cannot read its copy of this document', 'error.token_expired': 'Your login expired: log in again',
  'error.user_disabled': 'This account is disabled', 'error.conflict': 'Someone else changed this: reload', 'error.bad_request': 'The request is not valid',
  'error.bad_query': 'A filter is not valid',
  'error.not_an_image': 'This is not a photo', 'error.too_many_requests': 'Too many requests: try again shortly',
  'error.photo_quota_exceeded': 'Today\'s photo upload limit is reached', 'error.overloaded': 'The server is busy; retrying by itself', 'error.internal': 'The server had an error',
  'error.unavailable': 'The server is unavailable', 'error.login_code_expired': 'This login link has expired', 'error.login_code_invalid': 'This login link is not valid',
  'error.login_code_used': 'This login link was already used', 'error.secret_required': 'Enter your login PIN', 'error.new_secret_required': 'Choose a login PIN',
  'error.secret_wrong': 'Wrong login PIN', 'error.secret_locked': 'Too many wrong PINs: try again later or ask head office for a new login link',
  'error.secret_too_short': 'A login PIN has at least 6 characters', 'error.secret_too_long': 'This login PIN is too long', 'rule.immutable': 'this field cannot change once made',
  'rule.deleted': 'records cannot be deleted',
  'rule.transition': 'the status cannot change that way', 'rule.role': 'your role may not make this change', 'rule.self_approval': 'you cannot approve your own claim',
  'rule.concurrent_write': 'someone else changed this at the same time', 'rule.record': 'the record breaks a rule',
  'invalid.empty': 'a required field is empty', 'invalid.too_long': 'the text is too long', 'invalid.money': 'the amount is not valid', 'invalid.tier': 'the tier must be 1 to 5',
  'invalid.due_before_creation': 'the due date is before the day it was made', 'invalid.ends_before_start': 'it ends before it starts', 'invalid.currency_mismatch': 'the currency differs from the claim\'s',
  'invalid.resolution_required': 'say how it was resolved', 'invalid.spent_required': 'give the amount spent',
  'status.conflict': '(also marked ', 'status.conflictEnd': ' on another device at the same time)',
  'confirm.kept': 'Mark “{what}” as kept? This cannot be undone.', 'confirm.broken': 'Mark “{what}” as broken? This cannot be undone.',
  'confirm.resolved': 'Mark “{what}” as resolved? This cannot be undone.', 'confirm.reconciled': 'Mark “{what}” as reconciled? This cannot be undone.',
  'claim.reconcile': 'Reconcile',
  'sync.label': 'Sync status', 'damaged.notApplied': 'could not be applied',
};

const dicts = { 'zh-Hant': zh, en };

// Approvals inbox, approval limits, a claim's spent amount, receipts and reconciliation (views/approvals.js, views/claim.js).
Object.assign(zh, {
  'rule.approval_limit': '超過核准額度',
  'rule.pending_approval': '超過承諾權限，待主管核准', 'mine.title': '我的承諾',
  'claim.spentAmount': '實際支用金額', 'claim.receipt': '收據照片', 'claim.recordSpent': '記錄已支用',
  'claim.reconcile': '與經銷商核銷完成', 'claim.reason': '駁回原因',
  'claims.news': '我的費用申請有新進度', 'claims.recordSpending': '請記錄實際支用金額', 'claims.reconcile': '請與經銷商核銷',
});
Object.assign(en, {
  'rule.approval_limit': 'above the approval limit',
  'rule.pending_approval': 'above your authority: pending approval', 'mine.title': 'My commitments',
  'claim.spentAmount': 'Amount actually spent', 'claim.receipt': 'Receipt photo', 'claim.recordSpent': 'Record as spent',
  'claim.reconcile': 'Reconciled with the dealer', 'claim.reason': 'Reason',
  'claims.news': 'News on my expense claims', 'claims.recordSpending': 'Record what was spent', 'claims.reconcile': 'Reconcile with the dealer',
});
// Reconciliation ageing: spent claims not reconciled in time (ageing.js, views/claims-news.js, views/office-ageing.js).
Object.assign(zh, {
  'ageing.overdue': '逾期未核報', 'ageing.overdueCount': '逾期未核報的費用',
});
Object.assign(en, {
  'ageing.overdue': 'Overdue for reconciliation', 'ageing.overdueCount': 'Claims overdue for reconciliation',
});
// Problems escalated to head office: the phone's escalate action and answer, head office's queue (views/dealer.js, views/escalations.js).
Object.assign(zh, {
  'escalation.escalate': '上呈總部', 'escalation.waiting': '已上呈，等候總部回覆',
  'escalation.responded': '總部已回覆', 'escalation.response': '總部回覆', 'escalation.assignedTo': '指派給',
});
Object.assign(en, {
  'escalation.escalate': 'Escalate to head office', 'escalation.waiting': 'Escalated: waiting for head office',
  'escalation.responded': 'Head office answered', 'escalation.response': 'Head office', 'escalation.assignedTo': 'Assigned to',
});
// Territory handover: a sync refusal the outgoing manager's or the incoming manager's phone may show (views/handover.js has the rest).
Object.assign(zh, { 'rule.handed_over': '區域已交接，這筆修改待接手經理確認', 'rule.not_incoming': '只有接手經理能確認交接項目' });
Object.assign(en, { 'rule.handed_over': 'the territory was handed over: the new manager reviews this edit', 'rule.not_incoming': 'only the incoming manager reviews handovers' });
// The day on the home screen (views/today.js); joint visits and records added to a dealer outside a visit (views/visit.js, views/record.js).
Object.assign(zh, {
  'today.title': '今日待辦', 'today.commitments': '今天到期及逾期的承諾', 'today.claims': '待我處理的費用申請',
  'today.visits': '該去拜訪的經銷商', 'today.answers': '總部的新回覆', 'today.dueToday': '今天到期', 'today.clear': '今天沒有待辦事項。',
  'jv.customers': '陪同拜訪的下線客戶', 'jv.seen': '陪同拜訪', 'jv.record': '新增承諾或問題',
  'jv.add.commitment': '新增承諾', 'jv.add.problem': '新增問題',
});
Object.assign(en, {
  'today.title': 'Today', 'today.commitments': 'Commitments due today or overdue', 'today.claims': 'Claims waiting for me',
  'today.visits': 'Dealers due a visit', 'today.answers': 'New answers from head office', 'today.dueToday': 'Due today', 'today.clear': 'Nothing waits today.',
  'jv.customers': 'Downline customers visited together', 'jv.seen': 'Visited with', 'jv.record': 'Add a commitment or a problem',
  'jv.add.commitment': 'Add a commitment', 'jv.add.problem': 'Add a problem',
});
// The dealer network on the phone: adding a dealer or prospect, its contacts, brands and downline customers (views/dealer-new.js, views/profile.js).
Object.assign(zh, {
  'net.add': '新增經銷商／潛在客戶', 'net.newTitle': '新增經銷商／潛在客戶', 'net.noTerritory': '這支手機還沒有負責的區域：連上網路同步後再新增。',
  'net.location': '位置', 'net.person': '姓名', 'net.role': '職稱', 'net.phone': '電話', 'net.email': '電子郵件', 'net.note': '備註',
  'net.edit': '編輯', 'net.remove': '移除', 'net.removeAsk': '確定移除「{what}」嗎？', 'net.addContact': '新增聯絡人',
  'net.brand': '品牌名稱', 'net.addBrand': '新增品牌', 'net.exclusive': '獨家代理',
  'net.terminateAsk': '這家經銷商還有未結案的事項，終止合作前請先確認：', 'net.terminate': '仍要終止合作',
  'net.openCommitment': '未兌現的承諾', 'net.openClaim': '未核報的費用',
});
Object.assign(en, {
  'net.add': 'Add dealer / prospect', 'net.newTitle': 'New dealer or prospect', 'net.noTerritory': 'This phone has no territory yet: sync once online, then add one.',
  'net.location': 'Location', 'net.person': 'Name', 'net.role': 'Role', 'net.phone': 'Phone', 'net.email': 'Email', 'net.note': 'Note',
  'net.edit': 'Edit', 'net.remove': 'Remove', 'net.removeAsk': 'Remove “{what}”?', 'net.addContact': 'Add contact',
  'net.brand': 'Brand name', 'net.addBrand': 'Add brand', 'net.exclusive': 'exclusive',
  'net.terminateAsk': 'This dealer still has open work. Terminate anyway?', 'net.terminate': 'Terminate anyway',
  'net.openCommitment': 'Open commitment', 'net.openClaim': 'Claim not reconciled',
});
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

/** Adds words to language `l` (head office's screens bring theirs: i18n-office.js). */
export function extend(l, words) {
  Object.assign(dicts[l], words);
}
// Promotions and customer events at a dealer: plan, hold or cancel, the budget as a claim (views/activity.js, views/office-dealer.js).
Object.assign(zh, {
  'activity.heading': '推廣與聯誼活動', 'activity.plan': '規劃活動', 'activity.kind': '活動類型', 'activity.title': '活動名稱',
  'activity.starts': '開始日', 'activity.ends': '結束日', 'activity.budget': '預算', 'activity.invited': '邀請的下線客戶',
  'activity.held': '記錄已舉辦', 'activity.attended': '出席的下線客戶', 'activity.attendance': '出席人數', 'activity.result': '活動成果',
  'activity.photos': '活動照片', 'activity.cancel': '取消活動', 'activity.confirmCancel': '確定取消「{what}」？取消後無法復原。',
  'activity.toClaim': '將預算轉為費用申請', 'activity.claim': '費用申請', 'invalid.held_only': '活動舉辦後才能填寫出席與成果',
});
Object.assign(en, {
  'activity.heading': 'Promotions and customer events', 'activity.plan': 'Plan an activity', 'activity.kind': 'Kind', 'activity.title': 'Title',
  'activity.starts': 'Starts', 'activity.ends': 'Ends', 'activity.budget': 'Budget', 'activity.invited': 'Invited downline customers',
  'activity.held': 'Record as held', 'activity.attended': 'Downline customers who came', 'activity.attendance': 'Headcount', 'activity.result': 'Result',
  'activity.photos': 'Activity photos', 'activity.cancel': 'Cancel the activity', 'activity.confirmCancel': 'Cancel “{what}”? This cannot be undone.',
  'activity.toClaim': 'Turn the budget into an expense claim', 'activity.claim': 'Expense claim', 'invalid.held_only': 'attendance and results are recorded once the activity is held',
});
