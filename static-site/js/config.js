// The page's settings: where the API is and how people sign in. config.json is written per
// deployment (locally it says "dev"; in AWS the stack writes the API URL and Cognito ids).

let cached;

export async function config() {
  if (!cached) {
    const res = await fetch("/config.json", { cache: "no-store" });
    if (!res.ok) throw new Error("config.json is missing");
    cached = await res.json();
  }
  return cached;
}
