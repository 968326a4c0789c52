import { createRng } from './prng.js';
import { cardNumber, email, iban, personName, phone, ssn } from './pii.js';

/**
 * The demo database's rows, a pure function of a seed: the same customers, orders,
 * payments and payroll everywhere. Sizes are small enough to seed in seconds in PGlite
 * and large enough that a bulk read stands out against the usual point lookups.
 */
export interface Customer {
  id: number;
  name: string;
  email: string;
  phone: string;
  ssn: string;
  card_number: string;
  created_at: string;
}
export interface Order {
  id: number;
  customer_id: number;
  total_cents: number;
  created_at: string;
}
export interface Payment {
  id: number;
  order_id: number;
  card_number: string;
  iban: string;
  amount_cents: number;
  created_at: string;
}
export interface PayrollEntry {
  employee_id: number;
  name: string;
  salary_cents: number;
  iban: string;
}

export interface DemoDataset {
  customers: Customer[];
  orders: Order[];
  payments: Payment[];
  payroll: PayrollEntry[];
}

export const DEMO_SEED = 0x5eed;
export const DEMO_SIZES = { customers: 1000, orders: 2500, payments: 2000, payroll: 60 } as const;

const EPOCH = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;

function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}

export function demoDataset(seed: number = DEMO_SEED, sizes: typeof DEMO_SIZES = DEMO_SIZES): DemoDataset {
  const rng = createRng(seed);
  const customers: Customer[] = [];
  for (let id = 1; id <= sizes.customers; id++) {
    const name = personName(rng);
    customers.push({
      id,
      name,
      email: email(name, id, rng),
      phone: phone(rng),
      ssn: ssn(rng),
      card_number: cardNumber(rng),
      created_at: isoAt(EPOCH + rng.int(0, 365 * DAY)),
    });
  }
  const orders: Order[] = [];
  for (let id = 1; id <= sizes.orders; id++) {
    const customer = customers[rng.int(0, customers.length - 1)] as Customer;
    const after = Date.parse(customer.created_at);
    orders.push({ id, customer_id: customer.id, total_cents: rng.int(199, 250_000), created_at: isoAt(after + rng.int(0, 180 * DAY)) });
  }
  const payments: Payment[] = [];
  for (let id = 1; id <= sizes.payments; id++) {
    // Most orders are paid once; payments reference the first orders, a few paid twice.
    const order = orders[rng.next() < 0.9 ? id - 1 : rng.int(0, orders.length - 1)] as Order;
    const customer = customers[order.customer_id - 1] as Customer;
    payments.push({
      id,
      order_id: order.id,
      card_number: rng.next() < 0.8 ? customer.card_number : cardNumber(rng),
      iban: iban(rng),
      amount_cents: order.total_cents,
      created_at: isoAt(Date.parse(order.created_at) + rng.int(0, 3 * DAY)),
    });
  }
  const payroll: PayrollEntry[] = [];
  for (let employee_id = 1; employee_id <= sizes.payroll; employee_id++) {
    payroll.push({ employee_id, name: personName(rng), salary_cents: rng.int(35_000, 220_000) * 100, iban: iban(rng) });
  }
  return { customers, orders, payments, payroll };
}
