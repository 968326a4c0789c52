import { describe, expect, it } from 'vitest';
import { analyzeSql, defaultRules, evaluateGuardrails } from '../src/index.js';

/** The same default pack against MySQL, through node-sql-parser and the MySQL scan. */
const verdictOf = (sql: string): string => {
  const v = evaluateGuardrails(analyzeSql(sql, 'mysql'), defaultRules(), { connection: 'shop', protectedObjects: ['customers'] });
  return v.action === 'allow' ? 'allow' : v.ruleId;
};

const rows: Array<[string, string]> = [
  ['DROP TABLE orders', 'deny-drop'],
  ['drop table `orders`', 'deny-drop'],
  ['DROP DATABASE shop', 'deny-drop'],
  ['TRUNCATE TABLE orders', 'deny-truncate'],
  ['ALTER TABLE customers ADD COLUMN x INT', 'deny-ddl-protected-object'],
  ['ALTER TABLE Customers RENAME TO c2', 'deny-ddl-protected-object'],
  ['RENAME TABLE customers TO c2', 'deny-ddl-protected-object'],
  ['CREATE TABLE customers (id INT)', 'deny-ddl-protected-object'],
  ['ALTER TABLE orders ADD COLUMN x INT', 'allow'],
  ['DELETE FROM orders', 'deny-delete-update-without-where'],
  ['UPDATE orders SET status = 1', 'deny-delete-update-without-where'],
  ['DELETE FROM orders WHERE 1', 'deny-where-always-true'],
  ['DELETE FROM orders WHERE 1=1', 'deny-where-always-true'],
  ['DELETE FROM orders WHERE TRUE', 'deny-where-always-true'],
  ["DELETE FROM orders WHERE 'a' = 'a'", 'deny-where-always-true'],
  ['DELETE FROM orders WHERE id = 5 OR 1=1', 'deny-where-always-true'],
  ['DELETE FROM orders WHERE id = 5 || 1', 'unparseable'],
  ['DELETE FROM orders WHERE id = 5 OR 1', 'deny-where-always-true'],
  ['DELETE FROM orders WHERE NOT 0', 'deny-where-always-true'],
  ['DELETE FROM orders WHERE id = id', 'deny-where-always-true'],
  ['DELETE FROM orders WHERE (id = id) IS TRUE', 'deny-where-always-true'],
  ['DELETE FROM orders WHERE 1 IN (1, 2)', 'deny-where-always-true'],
  ['UPDATE orders SET a = 1 WHERE 2 > 1', 'deny-where-always-true'],
  ["DELETE FROM orders WHERE LENGTH('x') = 1", 'deny-where-always-true'],
  ['DELETE FROM orders WHERE RAND() < 2', 'deny-where-always-true'],
  ["DELETE FROM orders WHERE LOWER(email) = 'a'", 'allow'],
  ['DELETE FROM orders WHERE id = 5', 'allow'],
  ['DELETE FROM orders WHERE id = ?', 'allow'],
  ['UPDATE orders o JOIN items i ON o.id = i.order_id SET o.total = 0 WHERE i.id = 3', 'allow'],
  ["SELECT * FROM orders INTO OUTFILE '/tmp/x'", 'deny-server-file-access'],
  ["SELECT * FROM orders INTO DUMPFILE '/tmp/x'", 'deny-server-file-access'],
  ["LOAD DATA INFILE '/etc/passwd' INTO TABLE orders", 'deny-server-file-access'],
  ["LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE orders", 'deny-server-file-access'],
  ["SELECT LOAD_FILE('/etc/passwd')", 'deny-server-file-access'],
  ["SELECT id FROM orders WHERE note = (SELECT load_file('/etc/passwd'))", 'deny-server-file-access'],
  ['GRANT SELECT ON orders TO bob', 'deny-privilege-change'],
  ["SET PASSWORD = 'x'", 'deny-password-change'],
  ["CREATE USER eve IDENTIFIED BY 'x'", 'deny-password-change'],
  ['CREATE USER eve', 'deny-role-change'],
  ['DROP USER eve', 'unparseable'],
  ["SET GLOBAL sql_mode = 'ANSI_QUOTES'", 'deny-parser-setting'],
  ['SELECT 1; DELETE FROM orders WHERE id = 1', 'deny-multi-statement-write'],
  ['SELECT 1; DROP TABLE orders', 'deny-drop'],
  ['SELECT 1 /*!50000 , SLEEP(10) */', 'unparseable'],
  ['SELECT 1 /*M!100000 ; DROP TABLE orders */', 'unparseable'],
  ['DELETE FROM orders WHERE id = 1--1 OR 1=1', 'unparseable'],
  ['DELETE FROM orders WHERE id = 1 -- OR 1=1', 'allow'],
  ['DELETE FROM orders WHERE id = 1 # OR 1=1', 'allow'],
  ["SELECT 'DROP TABLE orders'", 'allow'],
  ['SELECT `DROP TABLE orders` FROM t', 'allow'],
  ['SELECT * FROM orders WHERE id = 1 LIMIT 10', 'allow'],
  ['SELEC 1', 'unparseable'],
  ['', 'unparseable'],
];

describe('default guardrail pack on mysql', () => {
  it.each(rows)('%s → %s', (sql, expected) => {
    expect(verdictOf(sql)).toBe(expected);
  });
});
