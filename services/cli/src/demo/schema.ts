/** The demo database's tables. `payroll` is the rarely used one a bulk read should stand out on. */
export const DEMO_SCHEMA = `
CREATE TABLE IF NOT EXISTS customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL,
  phone text NOT NULL,
  ssn text NOT NULL,
  card_number text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
  id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers(id),
  total_cents integer NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
  id integer PRIMARY KEY,
  order_id integer NOT NULL REFERENCES orders(id),
  card_number text NOT NULL,
  iban text NOT NULL,
  amount_cents integer NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS payroll (
  employee_id integer PRIMARY KEY,
  name text NOT NULL,
  salary_cents bigint NOT NULL,
  iban text NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_customer_id ON orders (customer_id);
CREATE INDEX IF NOT EXISTS payments_order_id ON payments (order_id);
`;

export const DEMO_TABLES = ['customers', 'orders', 'payments', 'payroll'] as const;
