// Option lists the forms share: personas, personality settings, evaluation templates, scenario types.
import { api } from "/static/api.js";

export const SCENARIO_TYPES = [
  ["sales", "Sales"], ["customer_success", "Customer success"], ["support", "Support"], ["custom", "Custom"],
];
export const TIME_LIMITS = [[5, "5 minutes"], [10, "10 minutes"], [15, "15 minutes"], [30, "30 minutes"]];
export const MODES = [["voice", "Voice call"], ["text", "Chat (typed)"], ["hybrid", "Hybrid (the learner picks per attempt)"]];

// The rubric templates shipped with the grader (grader/templates/*.yaml). The API has no list endpoint yet.
export const TEMPLATES = [
  ["sales_discovery", "Sales discovery call"],
  ["objection_handling", "Objection handling"],
  ["customer_success_renewal", "Customer-success renewal conversation"],
  ["support_de_escalation", "Support de-escalation"],
  ["salary_negotiation", "Salary or offer negotiation"],
  ["difficult_feedback", "Giving difficult feedback"],
];
export const DEFAULT_TEMPLATE = { sales: "sales_discovery", customer_success: "customer_success_renewal", support: "support_de_escalation", custom: "" };

export const PERSONALITY_LABELS = {
  trait: "Trait", emotional_state: "Emotional state", communication_style: "Communication style",
  decision_making: "Decision-making process", voice_character: "Voice character",
};

let personas = null;
let personalities = null;

export async function loadPersonas() {
  if (!personas) personas = api("/api/v1/personas").catch((error) => { personas = null; throw error; });
  return personas;
}

export async function loadPersonalities() {
  if (!personalities) personalities = api("/api/v1/personalities").catch((error) => { personalities = null; throw error; });
  return personalities;
}

export function typeLabel(value) {
  const hit = SCENARIO_TYPES.find(([v]) => v === value);
  return hit ? hit[1] : value || "-";
}

export function templateLabel(value) {
  const hit = TEMPLATES.find(([v]) => v === value);
  return hit ? hit[1] : value || "None";
}
